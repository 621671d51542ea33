"""What the escalation admin pages share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from incidents.admin.scoping import TeamScopedAdmin
from incidents.selectors import team_list


class TeamOwnedAdmin(TeamScopedAdmin):
    """A policy or schedule belongs to one of the user's own teams."""

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "team":
            kwargs["queryset"] = team_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
