"""Pages that act from a message: the link page and Twilio's SMS webhook.

A link is opened with GET, which only shows what it would do (mail
scanners open links); the button POSTs, and that acts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from twilio.request_validator import RequestValidator

from config.errors import VigilError
from notifications.services import (
    action_link_get,
    contact_test_confirm_by_link,
    contact_test_confirm_by_sms,
    contact_test_get,
)
from notifications.services.contact_tests import CONFIRM_REPLY
from notifications.services.respond import (
    incident_respond_by_link,
    incident_respond_by_sms,
)


def _link_page(
    request: HttpRequest, template: str, context: Callable[[], dict[str, Any]]
) -> HttpResponse:
    """Render `template` with `context()`, or with the error it raised."""
    try:
        return render(request, template, context())
    except VigilError as error:
        status = getattr(error, "status_code", 400)
        return render(request, template, {"error": error.message}, status=status)


@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """Show what the link does (GET) or do it (POST)."""

    def context() -> dict[str, Any]:
        if request.method == "GET":
            link = action_link_get(token=token)
            return {"link": link, "incident": link.incident, "done": False}
        done = incident_respond_by_link(token=token)
        return {"incident": done.incident, "action": done.action, "done": True}

    return _link_page(request, "notifications/respond.html", context)


@require_http_methods(["GET", "POST"])
def contact_test_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the contact-method test (GET) or confirm it (POST)."""

    def context() -> dict[str, Any]:
        if request.method == "GET":
            return {"test": contact_test_get(token=token), "done": False}
        return {"test": contact_test_confirm_by_link(token=token), "done": True}

    return _link_page(request, "notifications/contact_test.html", context)


def _twiml(text: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Message>{escape(text)}</Message></Response>"
    )
    return HttpResponse(body, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """Twilio's inbound-SMS webhook: "ACK 4821" acknowledges that page,
    "CONFIRM 4821" confirms that contact-method test."""
    token = settings.TWILIO_AUTH_TOKEN
    url = settings.VIGIL_BASE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    params = {key: request.POST.get(key, "") for key in request.POST}
    if not token or not RequestValidator(token).validate(url, params, signature):
        return HttpResponse("invalid signature", status=403)
    phone, body = params.get("From", ""), params.get("Body", "")
    try:
        if CONFIRM_REPLY.match(body):
            contact_test_confirm_by_sms(phone=phone, body=body)
            return _twiml("Vigil: confirmed, this number reaches you. Thank you.")
        done = incident_respond_by_sms(phone=phone, body=body)
    except VigilError as error:
        return _twiml(f"Vigil: {error.message}")
    verb = "acknowledged" if done.action == "acknowledge" else "resolved"
    return _twiml(f"Vigil: {done.incident.public_id} {verb}. Thank you.")
