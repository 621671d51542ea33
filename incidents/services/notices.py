"""Notices to one person about follow-up work, sent through the apps above."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from incidents.models import Incident
from incidents.signals import person_notice


def person_notice_send(
    *,
    user: User,
    event_key: str,
    subject: str,
    text: str,
    incident: Incident | None = None,
    calendar: str = "",
    now: datetime | None = None,
) -> bool:
    """Have `user` e-mailed a notice, once per `event_key`; return whether a
    receiver could reach them (False: no verified e-mail, for the caller to
    record). Sent inside the caller's transaction, so the messages commit or
    roll back with the claim row that decided to send them."""
    responses = person_notice.send(
        User,
        user=user,
        event_key=event_key,
        subject=subject,
        text=text,
        incident=incident,
        calendar=calendar,
        now=now,
    )
    return any(reached for _, reached in responses)
