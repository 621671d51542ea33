"""Every admin page offers, and filters by, the user's own teams' objects.

A responder's pages list only their teams' rows (each admin's get_queryset,
through the selectors); this base keeps the rest of the page from naming
another team's: the choices of a team or a service in a form, and the
choices of every relation filter beside a changelist, which list only what
the user's rows use. A superuser's selectors return everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from incidents import selectors
from incidents.models import Service, Team

CHOICES: dict[type[Model], Callable[..., QuerySet[Any]]] = {
    Team: selectors.team_list,
    Service: selectors.service_list,
}


class TeamScopedAdmin(admin.ModelAdmin):
    """Offer only the user's teams and services; filter by the user's rows."""

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        self._scope(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        self._scope(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _scope(self, db_field: Any, request: HttpRequest, kwargs: Any) -> None:
        # A subclass that narrowed the choices further keeps its own.
        selector = CHOICES.get(db_field.related_model)
        if selector is not None and "queryset" not in kwargs:
            kwargs["queryset"] = selector(user=request.user)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [_related_only(self.model, f) for f in super().get_list_filter(request)]


def _related_only(model: type[Model], entry: Any) -> Any:
    """Return a relation filter that lists only the related rows in use."""
    if isinstance(entry, str) and get_fields_from_path(model, entry)[-1].is_relation:
        return (entry, admin.RelatedOnlyFieldListFilter)
    return entry
