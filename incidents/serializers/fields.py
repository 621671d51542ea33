"""Fields naming the incident core's objects as the caller may see them:
a team or a service by slug, a user by username, among the caller's teams';
a severity by its code, any of the matrix's."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from incidents.models import Service, SeverityLevel, Team
from incidents.selectors import (
    service_list,
    severity_list,
    team_list,
    teammate_list,
)

User = get_user_model()


class _VisibleSlugField(serializers.SlugRelatedField[Any]):
    """A lookup by slug that refuses, as invalid, what no row can hold: a NUL
    character (PostgreSQL would answer the query with an error, not a miss)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class VisibleTeamField(_VisibleSlugField):
    """A team given by slug, among the caller's teams."""

    def __init__(self, **kwargs: Any) -> None:
        # The static queryset only describes the field in the OpenAPI schema;
        # lookups go through get_queryset, scoped to the caller.
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return team_list(user=self.context["request"].user)


class VisibleUserField(_VisibleSlugField):
    """A user given by username, among those `among` returns for the caller
    (by default the active members of the caller's teams): anyone else is
    "does not exist", as a username nobody has."""

    def __init__(self, among: Any = teammate_list, **kwargs: Any) -> None:
        self.among = among
        super().__init__(slug_field="username", queryset=User.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return self.among(user=self.context["request"].user)


class VisibleServiceField(_VisibleSlugField):
    """A service given by slug, among the services of the caller's teams."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Service.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return service_list(user=self.context["request"].user)


class SeverityCodeField(serializers.SlugRelatedField[SeverityLevel]):
    """A severity given by its code (P0, P1, …), any level of the matrix."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=severity_list(), **kwargs)
