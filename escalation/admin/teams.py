"""What the escalation admin pages share."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from incidents.selectors import team_list


class TeamOwnedAdmin(admin.ModelAdmin):
    """A policy or schedule belongs to one of the user's own teams."""

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "team":
            kwargs["queryset"] = team_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
