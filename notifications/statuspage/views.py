"""The public status page: no login, server-rendered, cached (statuspage.cache).

The page, its JSON (statuspage.api) and its feeds (statuspage.feeds) read
only what statuspage.selectors lets the public see. The subscription forms
post to the services in statuspage.services.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from config.auth import client_address
from notifications.exceptions import NotificationError
from notifications.models import PUBLIC_KINDS
from notifications.services.subscribers import (
    public_subscriber_delete,
    public_subscriber_set_services,
)
from notifications.statuspage import api, feeds
from notifications.statuspage.cache import respond
from notifications.statuspage.selectors import (
    Snapshot,
    public_services,
    status_page_settings,
)
from notifications.statuspage.services import (
    LinkError,
    SignupLimitError,
    subscriber_from_manage_token,
    subscription_confirm,
    subscription_request,
)
from notifications.statuspage.uptime import DayBar


def footer_links(text: str) -> list[tuple[str, str]]:
    """Return the (label, URL) of each "Label https://…" line; others are left out."""
    links = []
    for line in text.splitlines():
        label, _, url = line.strip().rpartition(" ")
        if label and url.startswith(("https://", "http://")):
            links.append((label.strip(), url))
    return links


# A day's bar: its class by the worst state that day (none: operational).
BAR_CLASS = {
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "m",
}


def bars_html(days: list[DayBar]) -> SafeString:
    """Return a service's 90 day bars, written here rather than by a template
    loop: 4,500 bars on a page of 50 services were most of its render time."""
    bars = []
    for day in days:
        css = BAR_CLASS.get(day.worst)
        if css is None:
            bars.append("<i></i>")
        else:
            when = f"{day.day:%Y-%m-%d}: {day.percent} %"
            bars.append(format_html('<i class="{}" title="{}"></i>', css, when))
    return mark_safe("".join(bars))  # noqa: S308 - every part escaped above


def _page(snapshot: Snapshot) -> tuple[bytes, str]:
    html = render_to_string(
        "statuspage/page.html",
        {
            "s": snapshot,
            "page": snapshot.page,
            "rows": [(c, bars_html(c.days)) for c in snapshot.components],
            "links": footer_links(snapshot.page.footer_links),
        },
    )
    return html.encode(), "text/html; charset=utf-8"


ENDPOINTS = {
    "page": _page,
    "summary": api.summary_json,
    "status": api.status_json,
    "incidents": api.incidents_json,
    "maintenances": api.scheduled_maintenances_json,
    "atom": feeds.atom_feed,
    "rss": feeds.rss_feed,
}


@require_GET
def public(request: HttpRequest, name: str) -> HttpResponse:
    """Answer one of the cached public renderings (`ENDPOINTS`)."""
    return respond(request, name, ENDPOINTS[name])


class SubscribeForm(forms.Form):
    kind = forms.ChoiceField(choices=PUBLIC_KINDS, initial="email", label="By")
    address = forms.CharField(
        max_length=2000, label="Email address, webhook URL or Apprise URL"
    )
    services = forms.ModelMultipleChoiceField(
        queryset=public_services(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every service.",
    )


class ServicesForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        queryset=public_services(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every service.",
    )


def _answer(
    request: HttpRequest, template: str, status: int = 200, **context: object
) -> HttpResponse:
    context["page"] = status_page_settings()
    return render(request, f"statuspage/{template}", context, status=status)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """Sign up for messages: a confirmation link is sent to the address."""
    form = SubscribeForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return _answer(request, "subscribe.html", status, form=form)
    try:
        subscription_request(
            kind=form.cleaned_data["kind"],
            address=form.cleaned_data["address"],
            services=list(form.cleaned_data["services"]),
            client=client_address(request),
        )
    except SignupLimitError as error:
        form.add_error(None, str(error))
        return _answer(request, "subscribe.html", 429, form=form)
    except NotificationError as error:
        form.add_error("address", str(error))
        return _answer(request, "subscribe.html", 400, form=form)
    return _answer(
        request,
        "done.html",
        message="Check your inbox: we sent a link to confirm your subscription.",
    )


@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Follow a confirmation link: the subscription starts."""
    try:
        subscriber = subscription_confirm(token=token)
    except LinkError as error:
        return _answer(request, "done.html", 410, message=str(error))
    return _answer(
        request,
        "done.html",
        message=f"Subscribed: {subscriber.display_address} hears of new incidents.",
    )


@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Choose services, or unsubscribe, by the signed link in every message."""
    try:
        subscriber = subscriber_from_manage_token(token)
    except LinkError as error:
        return _answer(request, "done.html", 410, message=str(error))
    if request.method == "POST" and "unsubscribe" in request.POST:
        public_subscriber_delete(subscriber=subscriber)
        return _answer(
            request, "done.html", message="Unsubscribed. Nothing more will be sent."
        )
    initial = {"services": list(subscriber.services.all())}
    form = ServicesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        public_subscriber_set_services(
            subscriber=subscriber, services=form.cleaned_data["services"]
        )
        return _answer(request, "done.html", message="Saved.")
    return _answer(request, "manage.html", form=form, subscriber=subscriber)
