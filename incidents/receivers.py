"""What the incident core hears from Django's auth: a sign-out closes that
session's websockets."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from incidents.live import session_end_publish


def close_live_sockets(sender: Any, *, request: HttpRequest, **_: Any) -> None:
    """Close the websockets opened with the session that signs out."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        session_end_publish(session_key)


def connect() -> None:
    user_logged_out.connect(
        close_live_sockets, dispatch_uid="incidents.close_live_sockets"
    )
