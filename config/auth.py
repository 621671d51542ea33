"""The signed-in user of a request, as the services expect it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


def request_actor(request: HttpRequest | Request) -> User:
    """Return the request's user, refusing anonymous requests."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("sign in first")
    return user
