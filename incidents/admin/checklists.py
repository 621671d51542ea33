"""Admin for the response aids: each severity's verification items, and on
an incident's page its verification and response checklist with buttons.

The buttons live inside the incident's change form, so they submit that
form (with its CSRF token) to their own address; the view reads nothing
else of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from config.admin_actions import redirect_back
from config.auth import request_actor
from config.errors import VigilError
from incidents.checklist import incident_checklist
from incidents.models import Incident, VerificationItem
from incidents.services.checklists import (
    checklist_item_tick,
    checklist_item_untick,
    verification_item_tick,
    verification_item_untick,
    verification_items_ensure,
)

ACTIONS: dict[str, Callable[..., object]] = {
    "verification-tick": verification_item_tick,
    "verification-untick": verification_item_untick,
    "checklist-tick": checklist_item_tick,
    "checklist-untick": checklist_item_untick,
}


@admin.register(VerificationItem)
class VerificationItemAdmin(admin.ModelAdmin):
    """What each severity checks before resolving; incidents copy the list
    the first time it is needed."""

    list_display = ["label", "severity", "position"]
    list_editable = ["position"]
    list_filter = ["severity"]
    ordering = ["severity__rank", "position", "id"]


def _button(url: str, text: str) -> SafeString:
    return format_html(
        '<button type="submit" formaction="{}" formmethod="post" '
        'class="button" style="margin-left:8px">{}</button>',
        url,
        text,
    )


class ResponseAidsAdminMixin(admin.ModelAdmin):
    """Verification and response checklist on the incident's change page."""

    def get_urls(self) -> list[URLPattern]:
        aid = path(
            "<int:pk>/aids/<str:what>/<str:item>/",
            self.admin_site.admin_view(require_POST(self.response_aid_view)),
            name="incidents_incident_aid",
        )
        return [aid, *super().get_urls()]

    def _url(self, incident: Incident, what: str, item: object) -> str:
        return reverse(
            "admin:incidents_incident_aid", args=[incident.pk, what, str(item)]
        )

    @admin.display(description="Verification before resolve")
    def verification(self, incident: Incident) -> SafeString:
        if not incident.pk:
            return format_html("{}", "—")
        required = incident.severity.verification_required
        note = "required to resolve" if required else "not required for this severity"
        rows = []
        for item in verification_items_ensure(incident=incident):
            done = item.checked_at is not None
            proof = (
                f" — {item.checked_by or 'someone'}, {item.checked_at:%Y-%m-%d %H:%M}"
                if done
                else ""
            )
            what = "verification-untick" if done else "verification-tick"
            button = _button(
                self._url(incident, what, item.pk), "Untick" if done else "Tick"
            )
            rows.append(("☑" if done else "☐", item.label, proof, button))
        rows_html = format_html_join("", "<li>{} {}{}{}</li>", rows)
        return format_html("<p>{}</p><ul>{}</ul>", note, rows_html)

    @admin.display(description="Response checklist")
    def response_checklist(self, incident: Incident) -> SafeString:
        if not incident.pk:
            return format_html("{}", "—")
        rows = []
        for state in incident_checklist(incident=incident):
            if not state.applies:
                continue
            proof = ""
            if state.source == "timeline":
                proof = f" — timeline event {state.event}, {state.at:%Y-%m-%d %H:%M}"
            elif state.source == "hand":
                proof = (
                    f" — ticked by {state.by or 'someone'}, {state.at:%Y-%m-%d %H:%M}"
                )
            button = format_html("{}", "")
            if state.hand_tickable:
                what = "checklist-untick" if state.done else "checklist-tick"
                label = "Untick" if state.done else "Tick"
                button = _button(self._url(incident, what, state.key), label)
            mark = "☑" if state.done else "☐"
            rows.append((mark, state.label, proof, button))
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{} {}{}{}</li>", rows)
        )

    def response_aid_view(
        self, request: HttpRequest, pk: int, what: str, item: str
    ) -> HttpResponseRedirect:
        incident = get_object_or_404(self.get_queryset(request), pk=pk)
        change = reverse("admin:incidents_incident_change", args=[incident.pk])
        if what not in ACTIONS or not self.has_change_permission(request, incident):
            self.message_user(request, "Not allowed.", messages.ERROR)
            return HttpResponseRedirect(change)
        target: dict[str, Any] = (
            {"item_id": int(item)}
            if what.startswith("verification")
            else {"item": item}
        )
        try:
            ACTIONS[what](
                incident=incident, by=request_actor(request), via="admin", **target
            )
        except (VigilError, ValueError) as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect_back(request, change)
