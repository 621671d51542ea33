"""Who may write through the API: the admin's model permissions, everywhere.

Reads need a signed-in user; what they return is scoped to the user's teams
by each view's selector. A write needs the Django model permission the admin
asks for the same change (`incidents.change_incident` to acknowledge, …), so
the "Responders" group grants the same in both, and what the admin refuses a
user (the severity matrix, another team's objects) the API refuses too. The
check runs before any object is looked up: a refusal says nothing about
which objects exist. Active superusers have every permission.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import permissions
from rest_framework.request import Request

# The verb of an action that is not named here is "change": acknowledging,
# rotating a key, verifying a contact method all change the object.
VERB_OF_ACTION = {"create": "add", "destroy": "delete"}
VERB_OF_METHOD = {"POST": "add", "DELETE": "delete"}


def _model(view: Any) -> type[Model]:
    model = getattr(view, "permission_model", None)
    if model is not None:
        return model
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        queryset = view.get_queryset()
    return queryset.model


def write_permissions(view: Any, request: Request) -> list[str]:
    """Return the permissions a write through `view` needs.

    A view names its own in `write_permissions` ({action or method: [perm]});
    otherwise they follow from its model (`permission_model`, else its
    queryset's): add to create, delete to destroy, change to the rest. A
    view without an action (an APIView) adds on POST.
    """
    named: dict[str, list[str]] = getattr(view, "write_permissions", {})
    action = getattr(view, "action", None)
    for key in (action, request.method.lower() if request.method else None):
        if key in named:
            return named[key]
    if action is not None:
        verb = VERB_OF_ACTION.get(action, "change")
    else:
        verb = VERB_OF_METHOD.get(request.method or "", "change")
    opts = _model(view)._meta
    return [f"{opts.app_label}.{verb}_{opts.model_name}"]


class ModelPermissions(permissions.BasePermission):
    """Let reads through; let a write through with its model permissions."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, (request.method or "").lower(), None) is None:
            return True  # not offered: the view answers 405

        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.has_perms(write_permissions(view, request)))
