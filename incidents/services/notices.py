"""Notices to one person about follow-up work, sent through the apps above."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from incidents.models import Incident
from incidents.signals import person_email_wanted, person_notice


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


def person_email_address(*, user: User) -> str:
    """Return the address `user` is e-mailed at: the first a receiver names
    (a verified e-mail contact method), else their account's e-mail."""
    responses = person_email_wanted.send(User, user=user)
    return next((address for _, address in responses if address), user.email)
