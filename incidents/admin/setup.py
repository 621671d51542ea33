"""Admin for teams and their members, services and severity levels.

Changes go through the services: a member leaves a team through them, and a
severity level's edits are kept as revisions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from config.admin import ReadOnlyInline
from config.auth import request_actor
from incidents import selectors, services
from incidents.admin.core import severity_badge
from incidents.admin.scoping import TeamScopedAdmin
from incidents.exceptions import IncidentError
from incidents.models import (
    Service,
    SeverityLevel,
    SeverityLevelRevision,
    Team,
    TeamMembership,
)
from incidents.services.setup import SEVERITY_EDITABLE


class MembershipFormSet(forms.BaseInlineFormSet):
    """Members leave a team through the service, once its on call no longer
    names them; handing a row to another user is leaving too."""

    def clean(self) -> None:
        super().clean()
        problems = []
        for form in self.initial_forms:
            data = getattr(form, "cleaned_data", {})
            if not (data.get("DELETE") or "user" in form.changed_data):
                continue
            user = User.objects.filter(pk=form.initial.get("user")).first()
            if user is None:
                continue
            try:
                services.team_member_check_removable(team=self.instance, user=user)
            except IncidentError as error:
                problems.append(error.message)
        if problems:
            raise forms.ValidationError(problems)

    def delete_existing(self, obj: TeamMembership, commit: bool = True) -> None:
        if commit:
            services.team_remove_member(team=obj.team, user=obj.user)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return selectors.team_list(user=request.user)


class ServiceAdminForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "name",
            "slug",
            "team",
            "description",
            "escalation_policy",
            "is_public",
            "public_name",
            "public_status_override",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        policy, team = data.get("escalation_policy"), data.get("team")
        if policy is not None and team is not None and policy.team_id != team.pk:
            self.add_error(
                "escalation_policy",
                f"policy {policy} belongs to team {policy.team}, not {team}",
            )
        return data


@admin.register(Service)
class ServiceAdmin(TeamScopedAdmin):
    form = ServiceAdminForm
    list_display = ["name", "slug", "team", "escalation_policy", "is_public"]
    list_filter = ["team", "is_public"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return selectors.service_list(user=request.user)

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "escalation_policy":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                team__in=selectors.team_list(user=request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RevisionInline(ReadOnlyInline):
    model = SeverityLevelRevision
    fields = ["version", "values", "changed_by", "changed_at"]
    verbose_name_plural = "Previous versions"


@admin.register(SeverityLevel)
class SeverityLevelAdmin(admin.ModelAdmin):
    list_display = [
        "badge",
        "name",
        "ack_target",
        "resolve_target",
        "update_cadence",
        "pir_required",
        "verification_required",
        "version",
    ]
    fields = ["code", "rank", *SEVERITY_EDITABLE, "version"]
    readonly_fields = ["code", "rank", "version"]
    inlines = [RevisionInline]

    @admin.display(description="Severity", ordering="rank")
    def badge(self, severity: SeverityLevel) -> SafeString:
        return severity_badge(severity)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: SeverityLevel, form: Any, change: bool
    ) -> None:
        services.severity_level_update(
            severity=obj,
            by=request_actor(request),
            **{f: form.cleaned_data[f] for f in form.changed_data},
        )
