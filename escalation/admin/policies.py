"""Admin for escalation policies, the preview, and incidents' escalations.

A policy is saved through the services, levels and targets as a whole: each
level row names its targets (users, teams or their leads and managers,
schedules), and the whole is checked before anything is written. An
escalation is looked at, not edited; its page has the manual controls.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from escalation.admin.teams import TeamOwnedAdmin
from escalation.exceptions import EscalationPolicyError
from escalation.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
)
from escalation.preview import escalation_preview
from escalation.selectors import (
    escalation_policy_chain,
    escalation_policy_list,
    schedule_list,
)
from escalation.services.policies import (
    escalation_policy_create,
    escalation_policy_delete,
    escalation_policy_update,
    escalation_policy_validate,
)
from incidents.models import Service, Team, TeamMembership
from incidents.selectors import service_list, severity_list, team_list, teammate_list

Kind = EscalationTarget.Kind
POLICY_FIELDS = ["name", "team", "description", "repeat", "ack_timeout"]
LEVEL_FIELDS = ["position", "name", "delay", "up_to_severity",
                "page_at_declaration_up_to"]  # fmt: skip


def _team_choices(teams: QuerySet[Team]) -> list[tuple[str, str]]:
    """Offer each team whole, and each team's members of one role."""
    roles = TeamMembership.Role.choices
    choices = []
    for team in teams.order_by("name"):
        choices.append((team.slug, f"{team.name}: everyone"))
        choices += [
            (f"{team.slug}:{r}", f"{team.name}: {n.lower()}s") for r, n in roles
        ]
    return choices


def _team_value(target: EscalationTarget) -> str:
    """Return the team target's choice in the form: `slug` or `slug:role`."""
    slug = target.team.slug if target.team else ""
    return f"{slug}:{target.team_role}" if target.team_role else slug


SHORT = {"size": 3}


class LevelForm(forms.ModelForm):
    # Short lists (Ctrl/Cmd-click for more than one): a level row stays one line.
    users = forms.ModelMultipleChoiceField(
        User.objects.none(), required=False, widget=forms.SelectMultiple(attrs=SHORT)
    )
    teams = forms.MultipleChoiceField(
        required=False,
        help_text="Or their role.",
        widget=forms.SelectMultiple(attrs=SHORT),
    )
    schedules = forms.ModelMultipleChoiceField(
        Schedule.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs=SHORT),
    )

    class Meta:
        model = EscalationLevel
        fields = LEVEL_FIELDS

    def __init__(self, *args: Any, caller: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the caller's teams are offered (the policy's team is one of
        # them); the services refuse any target outside the policy's team.
        self.offered_teams = team_list(user=caller)
        self.fields["users"].queryset = teammate_list(user=caller)  # type: ignore[attr-defined]
        self.fields["teams"].choices = _team_choices(self.offered_teams)  # type: ignore[attr-defined]
        self.fields["schedules"].queryset = schedule_list(user=caller)  # type: ignore[attr-defined]
        if self.instance.pk:
            targets = list(self.instance.targets.select_related("team"))
            self.initial.update(
                {
                    "users": [t.user_id for t in targets if t.kind == Kind.USER],
                    "teams": [_team_value(t) for t in targets if t.kind == Kind.TEAM],
                    "schedules": [
                        t.schedule_id for t in targets if t.kind == Kind.SCHEDULE
                    ],
                }
            )

    def validate_unique(self) -> None:
        # The levels are replaced as a whole: positions are checked among the
        # levels submitted (the formset, the service), not the stored ones.
        pass

    def level(self) -> dict[str, Any]:
        """Return the level in the shape the policy services take."""
        data = self.cleaned_data
        teams = {t.slug: t for t in self.offered_teams}
        targets: list[dict[str, Any]] = [
            {"kind": Kind.USER, "user": user} for user in data["users"]
        ]
        for value in data["teams"]:
            slug, _, role = value.partition(":")
            targets.append({"kind": Kind.TEAM, "team": teams[slug], "team_role": role})
        targets += [{"kind": Kind.SCHEDULE, "schedule": s} for s in data["schedules"]]
        return {**{f: data[f] for f in LEVEL_FIELDS}, "targets": targets}


class LevelFormSet(forms.BaseInlineFormSet):
    def kept(self) -> list[LevelForm]:
        """Return the forms of the levels to save: stored or newly filled in."""
        forms = [*self.initial_forms]
        forms += [form for form in self.extra_forms if form.has_changed()]
        return [form for form in forms if not form.cleaned_data.get("DELETE")]

    def levels(self) -> list[dict[str, Any]]:
        return [form.level() for form in self.kept()]

    def clean(self) -> None:
        super().clean()
        policy = self.instance
        if any(self.errors) or policy.team_id is None:
            return
        try:
            escalation_policy_validate(
                team=policy.team,
                levels=self.levels(),
                repeat=policy.repeat,
                ack_timeout=policy.ack_timeout,
            )
        except EscalationPolicyError as error:
            index = re.match(r"levels\[(\d+)\]", str(error.details.get("field")))
            if index is None:
                raise ValidationError(error.message) from error
            self.kept()[int(index[1])].add_error(None, error.message)


class LevelInline(admin.StackedInline):
    model = EscalationLevel
    form = LevelForm
    formset = LevelFormSet
    extra = 1
    ordering = ["position"]


class PreviewForm(forms.Form):
    # The user's services, set by the view.
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(queryset=None)
    severity = forms.ModelChoiceField(severity_list(), to_field_name="code")
    at = forms.DateTimeField(required=False, help_text="Default: now.")


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TeamOwnedAdmin):
    list_display = ["name", "team", "chain", "repeat", "used_by"]
    list_filter = ["team"]
    search_fields = ["name"]
    fields = [*POLICY_FIELDS, "chain", "preview_links"]
    readonly_fields = ["chain", "preview_links"]
    inlines = [LevelInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationPolicy]:
        return escalation_policy_list(user=request.user)

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        return {**kwargs, "form_kwargs": {"caller": request.user}}

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Deleting goes through the service, one policy at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Chain")
    def chain(self, policy: EscalationPolicy) -> str:
        if policy.pk is None:
            return "—"
        return escalation_policy_chain(policy=policy)

    @admin.display(description="Services")
    def used_by(self, policy: EscalationPolicy) -> str:
        return ", ".join(s.name for s in policy.services.all()) or "—"

    @admin.display(description="Preview")
    def preview_links(self, policy: EscalationPolicy) -> SafeString:
        url = reverse("admin:escalation_escalationpolicy_preview")
        links = format_html_join(
            " · ",
            '<a href="{}?service={}&amp;severity={}">{} {}</a>',
            (
                (url, s.pk, code, s.name, code)
                for s in (policy.services.all() if policy.pk else [])
                for code in severity_list().values_list("code", flat=True)
            ),
        )
        return format_html('{} <a href="{}">Choose a service…</a>', links, url)

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        # Written with its levels, by the service, in save_related.
        pass

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        data = {f: form.cleaned_data[f] for f in POLICY_FIELDS}
        levels = formsets[0].levels()
        if change:
            escalation_policy_update(policy=form.instance, levels=levels, **data)
            return
        policy = escalation_policy_create(levels=levels, **data)
        form.instance.pk = policy.pk
        form.instance._state.adding = False

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # The levels were replaced by the service, not saved by the formset.
        return super().construct_change_message(request, form, [], add)

    def delete_model(self, request: HttpRequest, obj: EscalationPolicy) -> None:
        escalation_policy_delete(policy=obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except EscalationPolicyError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:escalation_escalationpolicy_change", args=[object_id])
            )

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="escalation_escalationpolicy_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Show who a severity's incident on a service would page, and when."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        form.fields["service"].queryset = service_list(user=request.user)  # type: ignore[attr-defined]
        preview = None
        if form.is_valid():
            preview = escalation_preview(
                service=form.cleaned_data["service"],
                severity=form.cleaned_data["severity"],
                at=form.cleaned_data["at"],
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Escalation preview",
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/escalation/preview.html", context)
