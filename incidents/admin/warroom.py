"""The responders' console in the admin: an incident's war room and the
board of open incidents.

Both pages render on the server and grow live: their script listens on the
incident websockets and fetches the new rows from the `live` views here.
Every button posts to `act`, which calls one service and shows its refusal
as the service worded it. The escalation app adds its buttons' verbs
(escalate now, page a responder) with `war_room_act_add`, and says where
paging stands through `incidents.console.console_paging_set`.
"""

from __future__ import annotations

from collections.abc import Callable

from csp.decorators import csp_update
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from config.admin_actions import redirect_back
from config.auth import request_actor
from config.errors import VigilError
from incidents import console, selectors, services
from incidents.exceptions import IncidentError
from incidents.lifecycle import OPEN_STATUSES, allowed_next
from incidents.models import (
    Incident,
    IncidentRole,
    SeverityLevel,
    StatusUpdate,
    TimelineEvent,
)
from incidents.runbook_selectors import external_contact_list
from incidents.services.status_updates import status_update_post

S = Incident.Status
# Alerts' payloads link images from the monitoring tools: the war room (and
# only it) lets the browser load images over https.
ALERT_IMAGES = {"img-src": ["https:"]}
SCOPES = {"mine": "Mine", "teams": "My teams", "all": "All open"}


def war_room_member(request: HttpRequest, incident: Incident) -> User:
    """The member of the incident's team the form names ("me": the user)."""
    chosen = str(request.POST.get("user", ""))
    if chosen == "me":
        return request_actor(request)
    members = selectors.teammate_list(user=request.user).filter(
        memberships__team=incident.service.team
    )
    user = members.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    if user is None:
        raise IncidentError("choose a member of the incident's team", field="user")
    return user


def _severity(request: HttpRequest) -> SeverityLevel:
    code = str(request.POST.get("severity", ""))
    severity = selectors.severity_list().filter(code=code).first()
    if severity is None:
        raise IncidentError("choose a severity", field="severity")
    return severity


def war_room_reason(request: HttpRequest) -> str:
    return str(request.POST.get("reason", "")).strip()


# Each verb: one service call; it returns what to tell the user.
Act = Callable[[HttpRequest, Incident, User], str]


def _acknowledge(request: HttpRequest, incident: Incident, by: User) -> str:
    services.incident_acknowledge(incident=incident, by=by, via="admin")
    return f"Acknowledged {incident.public_id}"


def _transition(request: HttpRequest, incident: Incident, by: User) -> str:
    to = str(request.POST.get("to", ""))
    services.incident_transition(
        incident=incident,
        to=to,
        by=by,
        via="admin",
        reason=war_room_reason(request),
        override_verification=request.POST.get("override") == "on",
    )
    return f"{incident.public_id} is now {S(to).label.lower()}"


def _cancel(request: HttpRequest, incident: Incident, by: User) -> str:
    reason = war_room_reason(request)
    services.incident_transition(
        incident=incident,
        to=S.CANCELLED,
        by=by,
        via="admin",
        reason=f"false positive: {reason}" if reason else "",
    )
    return f"{incident.public_id} was cancelled as a false positive"


def _severity_change(request: HttpRequest, incident: Incident, by: User) -> str:
    severity = _severity(request)
    services.incident_change_severity(
        incident=incident,
        severity=severity,
        by=by,
        via="admin",
        reason=war_room_reason(request),
    )
    return f"Severity is now {severity.code}"


def _role(request: HttpRequest, incident: Incident, by: User) -> str:
    user, role = war_room_member(request, incident), str(request.POST.get("role", ""))
    services.incident_assign_role(
        incident=incident, role=role, user=user, by=by, via="admin"
    )
    return f"{console.user_name(user)} is {IncidentRole(role).label}"


def _note(request: HttpRequest, incident: Incident, by: User) -> str:
    services.incident_add_note(
        incident=incident,
        text=str(request.POST.get("text", "")),
        note_kind=str(request.POST.get("note_kind", "note")),
        by=by,
        via="admin",
    )
    return "Added to the timeline"


def _status_update(request: HttpRequest, incident: Incident, by: User) -> str:
    update = status_update_post(
        incident=incident,
        actor=by,
        text=str(request.POST.get("text", "")),
        impact=str(request.POST.get("impact", "")),
        next_steps=str(request.POST.get("next_steps", "")),
        audience=str(request.POST.get("audience", "")),
        via="admin",
    )
    return f"Posted the status update to the {update.audience} audience"


ACTS: dict[str, Act] = {
    "acknowledge": _acknowledge,
    "transition": _transition,
    "cancel": _cancel,
    "severity": _severity_change,
    "role": _role,
    "note": _note,
    "status_update": _status_update,
}


def war_room_act_add(verb: str, act: Act) -> None:
    """Let the war room's form post `verb`, done by `act` (another app's
    button: one service call of its own, returning what to tell the user)."""
    ACTS[verb] = act


class WarRoomAdminMixin(admin.ModelAdmin):
    """The war room of each incident and the board, as views of the incident
    admin (its login, permissions and scoping)."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("board/", view(self.board_view), name="incidents_incident_board"),
            path(
                "board/live/",
                view(self.board_live),
                name="incidents_incident_board_live",
            ),
            path(
                "<int:pk>/war-room/",
                view(self.war_room_view),
                name="incidents_incident_war_room",
            ),
            path(
                "<int:pk>/war-room/live/",
                view(self.war_room_live),
                name="incidents_incident_war_room_live",
            ),
            path(
                "<int:pk>/war-room/act/",
                view(require_POST(self.war_room_act)),
                name="incidents_incident_war_room_act",
            ),
            *super().get_urls(),
        ]

    # --- War room -----------------------------------------------------------
    def _incident(self, request: HttpRequest, pk: int) -> Incident:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _header(self, request: HttpRequest, incident: Incident) -> str:
        return render_to_string(
            "admin/incidents/incident/war_room_header.html",
            {
                "incident": incident,
                "clocks": console.sla_clocks(incident),
                "roles": console.roles(incident),
                "paging": console.paging(incident),
                "review": console.review(incident),
            },
            request=request,
        )

    def _actions(self, request: HttpRequest, incident: Incident) -> str:
        """The buttons and forms the incident's state allows: a closed or
        cancelled incident keeps its severity and roles; paging is for an
        open one."""
        members = selectors.teammate_list(user=request.user).filter(
            memberships__team=incident.service.team
        )
        return render_to_string(
            "admin/incidents/incident/war_room_actions.html",
            {
                "incident": incident,
                "back_to": reverse(
                    "admin:incidents_incident_war_room", args=[incident.pk]
                ),
                "transitions": console.legal_transitions(incident),
                "may_acknowledge": incident.status == S.TRIGGERED,
                "may_cancel": S.CANCELLED in allowed_next(incident.status),
                "may_manage": incident.status not in (S.CLOSED, S.CANCELLED),
                "is_open": incident.status in OPEN_STATUSES,
                "severities": selectors.severity_list(),
                "roles": IncidentRole.choices,
                "members": [(m.pk, console.user_name(m)) for m in members],
                "audiences": StatusUpdate.Audience.choices,
            },
            request=request,
        )

    def _entries(self, request: HttpRequest, incident: Incident, after: int) -> list:
        return [
            {
                "id": entry.id,
                "html": render_to_string(
                    "admin/incidents/incident/timeline_entry.html", {"entry": entry}
                ),
            }
            for entry in console.timeline(incident, after)
        ]

    @method_decorator(csp_update(ALERT_IMAGES))
    def war_room_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk)
        here = reverse("admin:incidents_incident_war_room", args=[pk])
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,  # the room goes to the console
            "title": f"{incident.public_id} {incident.title}",
            "opts": self.model._meta,
            "original": incident,
            "incident": incident,
            "header": self._header(request, incident),
            "entries": self._entries(request, incident, 0),
            "has_change_permission": self.has_change_permission(request, incident),
            "actions": self._actions(request, incident),
            "note_kinds": TimelineEvent.NoteKind.choices,
            "verification": self.verification(incident),  # type: ignore[attr-defined]
            "response_checklist": self.response_checklist(incident),  # type: ignore[attr-defined]
            "back_to": here,
            "contacts": external_contact_list(user=request.user).filter(
                team=incident.service.team
            ),
            "ws_path": f"/ws/incidents/{incident.public_id}/",
        }
        return TemplateResponse(
            request, "admin/incidents/incident/war_room.html", context
        )

    def war_room_live(self, request: HttpRequest, pk: int) -> JsonResponse:
        """What is new since event `after`; and, when the status is no longer
        the `status` the page shows, the actions that status allows."""
        incident = self._incident(request, pk)
        after = str(request.GET.get("after", "0"))
        moved = request.GET.get("status") != incident.status
        may_act = moved and self.has_change_permission(request, incident)
        return JsonResponse(
            {
                "header": self._header(request, incident),
                "status": incident.status,
                "actions": self._actions(request, incident) if may_act else None,
                "entries": self._entries(
                    request, incident, int(after) if after.isdigit() else 0
                ),
            }
        )

    def war_room_act(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident(request, pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        verb = str(request.POST.get("verb", ""))
        act = ACTS.get(verb)
        try:
            if act is None:
                raise IncidentError(f"say what to do: {', '.join(ACTS)}")
            done = act(request, incident, request_actor(request))
        except VigilError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done)
        here = reverse("admin:incidents_incident_war_room", args=[pk])
        return redirect_back(request, here)

    # --- Board --------------------------------------------------------------
    def _board_scope(self, request: HttpRequest) -> str:
        scope = str(request.GET.get("scope", "teams"))
        return scope if scope in SCOPES else "teams"

    def _board_rows(self, request: HttpRequest, scope: str) -> str:
        rows = [
            {
                "incident": incident,
                "clocks": console.sla_clocks(incident),
                "commander": console.commander(incident),
            }
            for incident in console.open_incidents(
                user=request_actor(request), scope=scope
            )
        ]
        return render_to_string(
            "admin/incidents/incident/board_rows.html",
            {
                "rows": rows,
                "may_change": self.has_change_permission(request),
                "back_to": f"{reverse('admin:incidents_incident_board')}?scope={scope}",
            },
            request=request,
        )

    def board_view(self, request: HttpRequest) -> HttpResponse:
        scope = self._board_scope(request)
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,  # the room goes to the console
            "title": "Open incidents",
            "opts": self.model._meta,
            "scope": scope,
            "scopes": SCOPES.items(),
            "rows": self._board_rows(request, scope),
            "ws_path": "/ws/incidents/",
        }
        return TemplateResponse(request, "admin/incidents/incident/board.html", context)

    def board_live(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(
            {"rows": self._board_rows(request, self._board_scope(request))}
        )
