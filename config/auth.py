"""The signed-in user of a request, as the services expect it."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


def request_actor(request: HttpRequest | Request) -> User:
    """Return the request's user, refusing anonymous requests."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("sign in first")
    return user


def session_user(session_key: str) -> AbstractBaseUser | AnonymousUser:
    """Return who is signed in with the session now, as a request would see it.

    AnonymousUser when the session is gone (signed out), has expired, or its
    user was deactivated or changed password since.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]


def client_address(request: HttpRequest) -> str:
    """Return the address the request came from, as login throttling sees it.

    Behind VIGIL_TRUSTED_PROXIES reverse proxies, each of which appends the
    address it received from to X-Forwarded-For, the client is that many
    entries from the right; what is further left, the client wrote itself.
    Without proxies, or when the header has fewer entries, the peer address.
    """
    proxies = settings.VIGIL_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies and len(hops) >= proxies:
        return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))
