"""From an incident and a delivery to the message its transport sends."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse

from incidents.formatting import when
from incidents.models import Incident, IncidentRole
from incidents.selectors import incident_details_visible
from notifications.models import Delivery, MessageTemplate
from notifications.rendering import Rendered, render_message
from notifications.transports.base import Message

logger = logging.getLogger(__name__)


def _duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@functools.cache
def _incident_path() -> str:
    # reverse() costs about a millisecond; every message needs this URL.
    return reverse("admin:incidents_incident_change", args=[0]).replace("/0/", "/{}/")


def incident_url(incident: Incident) -> str:
    """Return where a responder opens the incident."""
    return settings.VIGIL_BASE_URL + _incident_path().format(incident.pk)


def incident_context(incident: Incident, *, now: datetime) -> dict[str, Any]:
    """Return what templates may say about the incident: plain values only."""
    severity = incident.severity
    roles = {
        a.role: a.user.get_full_name() or a.user.get_username()
        # The model's order within one incident, without its join to it.
        for a in incident.role_assignments.select_related("user").order_by("role")
    }
    end = incident.resolved_at or now
    cadence = severity.update_cadence
    resolution = (
        incident.get_resolution_type_display() if incident.resolution_type else ""
    )
    return {
        "id": incident.public_id,
        "title": incident.title,
        "summary": incident.summary,
        "severity": severity.code,
        "severity_name": severity.name,
        "severity_color": severity.color,
        "status": incident.status,
        "status_display": incident.get_status_display(),
        "impact": incident.impact,
        "users_affected": incident.users_affected,
        "service": incident.service.name,
        "team": incident.service.team.name,
        "started_at": when(incident.started_at),
        "detected_at": when(incident.detected_at),
        "resolved_at": when(incident.resolved_at),
        "duration": _duration(end - incident.started_at),
        "commander": roles.get(IncidentRole.INCIDENT_COMMANDER, ""),
        "tech_lead": roles.get(IncidentRole.TECHNICAL_LEAD, ""),
        "url": incident_url(incident),
        "war_room": incident.war_room_channel,
        "update_cadence_minutes": int(cadence.total_seconds() // 60)
        if cadence
        else None,
        # The time the last status update promised, as stored.
        "next_update_at": when(incident.next_update_due_at),
        "root_cause": incident.root_cause,
        "resolution_type": resolution,
        "resolution": incident.summary if incident.resolved_at else "",
    }


def delivery_context(
    delivery: Delivery, *, now: datetime, incident: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the whole template context of one delivery.

    `incident` is the incident's own context when the caller has it already.
    """
    extra = delivery.extra or {}
    user = delivery.user
    context: dict[str, Any] = {
        "incident": {},
        "update": {
            "text": "",
            "impact": "",
            "next_steps": "",
            "eta": "",
            "posted_at": when(delivery.created_at),
        },
        "links": {"acknowledge": "", "resolve": "", "confirm": ""},
        "reminder": extra.get("reminder", {}),
        "contact_test": extra.get("contact_test", {}),
        "sms_code": "",
        "recipient": {
            "name": (user.get_full_name() or user.get_username()) if user else ""
        },
        "code": extra.get("code", ""),
        "is_drill": False,
        "notice": {"subject": "", "text": "", **extra.get("notice", {})},
    }
    if delivery.incident is not None:
        context["incident"] = incident or incident_context(delivery.incident, now=now)
        context["is_drill"] = delivery.incident.is_drill
    promised = extra.get("next_update_at")
    if promised is not None:
        # The time this update promised, whatever was posted since.
        context["incident"] = {**context["incident"], "next_update_at": promised}
    context["update"].update(extra.get("update", {}))
    if delivery.incident is not None and not incident_details_visible(
        incident=delivery.incident, user=user
    ):
        _hide_details(context)
    context["links"].update(extra.get("links", {}))
    context["sms_code"] = extra.get("sms_code", "")
    return context


# What a message of a restricted incident tells a channel, or a person who
# is not one of its named responders: which incident, how severe, its status.
SHOWN_OF_RESTRICTED = (
    "id",
    "severity",
    "severity_name",
    "severity_color",
    "status",
    "status_display",
    "url",
)


def _hide_details(context: dict[str, Any]) -> None:
    shown = context["incident"]
    context["incident"] = {
        **{key: "" for key in shown},
        **{key: shown[key] for key in SHOWN_OF_RESTRICTED},
        "title": "Restricted incident",
        "users_affected": None,
        "update_cadence_minutes": None,
    }
    context["update"].update(text="", impact="", next_steps="", eta="")


# Admins edit templates rarely and every message reads them: each process
# keeps them this long (an edit shows within seconds).
OVERRIDES_TTL = 5.0
_overrides_cache: dict[str, tuple[float, dict[str, str]]] = {}


def overrides_forget(**_: object) -> None:
    """Drop this process's copy of the templates (one was just saved)."""
    _overrides_cache.clear()


def _overrides(kind: str) -> dict[str, str]:
    cached = _overrides_cache.get(kind)
    if cached is not None and time.monotonic() - cached[0] < OVERRIDES_TTL:
        return cached[1]
    rows = MessageTemplate.objects.filter(kind=kind, enabled=True)
    overrides = {row.format: row.source for row in rows}
    _overrides_cache[kind] = (time.monotonic(), overrides)
    return overrides


def message_render(delivery: Delivery, *, now: datetime) -> Message:
    """Render the delivery's message; report templates that fell back."""
    return MessageRenderer(now=now).render(delivery)


class MessageRenderer:
    """Render the messages of one batch of deliveries, each distinct one once.

    A channel message goes to every channel with the same words, and its
    deliveries travel together: the incident's context (which reads its
    roles) is built once per incident, and a message once per distinct
    context. Only the delivery id differs from one destination to the next.
    """

    def __init__(self, *, now: datetime) -> None:
        self.now = now
        self._incidents: dict[int, dict[str, Any]] = {}
        self._rendered: dict[tuple[Any, ...], Rendered] = {}

    def render(self, delivery: Delivery) -> Message:
        """Render the delivery's message; report templates that fell back."""
        if delivery.purpose == Delivery.Purpose.PUBLIC:
            return public_message(delivery)
        # Everything `delivery_context()` reads of the delivery itself.
        key = (
            delivery.message_kind,
            delivery.incident_id,
            delivery.user_id,
            delivery.created_at,
            json.dumps(delivery.extra, sort_keys=True, default=str),
        )
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = render_message(
                kind=delivery.message_kind,
                context=delivery_context(
                    delivery, now=self.now, incident=self._incident(delivery)
                ),
                overrides=_overrides(delivery.message_kind),
            )
            self._rendered[key] = rendered
        if rendered.errors:
            _report_fallbacks(delivery, rendered.errors, self.now)
        message = dataclasses.replace(rendered.message, delivery_id=str(delivery.pk))
        calendar = (delivery.extra or {}).get("calendar")
        if calendar:  # an invitation: the e-mail carries it as an attachment
            message = dataclasses.replace(message, data={"calendar": calendar})
        return message

    def _incident(self, delivery: Delivery) -> dict[str, Any] | None:
        incident = delivery.incident
        if incident is None:
            return None
        if incident.pk not in self._incidents:
            self._incidents[incident.pk] = incident_context(incident, now=self.now)
        return self._incidents[incident.pk]


# What a public delivery's message says (`extra["message"]`).
PUBLIC_MESSAGE_FIELDS = ("subject", "text", "chat", "short", "title", "incident_url")


def public_message(delivery: Delivery) -> Message:
    """Return the message a public subscriber's delivery was written with.

    It was rendered for the public when it was written: no responder's name,
    internal link or responders' template can reach it here.
    """
    given = (delivery.extra or {}).get("message", {})
    text = {name: str(given.get(name, "")) for name in PUBLIC_MESSAGE_FIELDS}
    return Message(
        subject=text["subject"],
        text=text["text"],
        chat=text["chat"],
        short=text["short"],
        title=text["title"],
        incident_url=text["incident_url"],
        kind=delivery.message_kind,
        data=dict(given.get("data", {})),
        delivery_id=str(delivery.pk),
    )


def _report_fallbacks(delivery: Delivery, errors: list[str], now: datetime) -> None:
    """Keep each failure on its template row and on the delivery."""
    logger.warning("template fell back for delivery %s: %s", delivery.pk, errors)
    for fmt in MessageTemplate.Format.values:
        mine = [e for e in errors if e.startswith(f"{fmt} template")]
        if mine:
            MessageTemplate.objects.filter(
                kind=delivery.message_kind, format=fmt
            ).update(last_error="; ".join(mine), last_error_at=now)
    Delivery.objects.filter(pk=delivery.pk).update(
        notes=(delivery.notes + "\n" if delivery.notes else "") + "; ".join(errors)
    )


def message_bundle(primary: Message, others: list[Message]) -> Message:
    """Return `primary` carrying the bundled messages' summaries after it."""
    if not others:
        return primary
    lines = [m.short or m.subject for m in others]
    more = f"+{len(others)} more: " + " | ".join(lines)
    return dataclasses.replace(
        primary,
        subject=f"{primary.subject} (+{len(others)} more)",
        text=primary.text + "\n\n" + "\n".join(["Also:", *lines]),
        chat=primary.chat
        + "\n\n"
        + "\n".join(["**Also:**", *(f"- {x}" for x in lines)]),
        short=f"{primary.short} {more}",
    )
