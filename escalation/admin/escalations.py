"""Admin of incidents' escalations: their state and steps, read-only, and the
manual controls (escalate now, reassign, add a responder) on the change page
(`templates/admin/escalation/escalation/change_form.html`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from config.auth import request_actor
from escalation.admin.drill_reports import drill_report_urls
from escalation.exceptions import EscalationError
from escalation.models import Escalation, EscalationStep
from escalation.selectors import escalation_list, escalation_standing
from escalation.services import (
    escalation_add_responder,
    escalation_escalate,
    escalation_reassign,
)
from incidents.admin.scoping import TeamScopedAdmin
from incidents.selectors import teammate_list

ESCALATION_FIELDS = ("incident", "policy", "state", "run", "repeat", "level",
                     "next_level", "due_at", "started_at", "updated_at")  # fmt: skip


class StepInline(ReadOnlyInline):
    model = EscalationStep
    fields = ["fired_at", "cause", "level_name", "outcome", "paged", "due_at", "by"]
    readonly_fields = ["level_name", "paged"]
    ordering = ["fired_at", "id"]
    verbose_name_plural = "Steps (every level fired or skipped, every manual page)"

    @admin.display(description="Level")
    def level_name(self, step: EscalationStep) -> str:
        if step.level is None:
            return "—"
        policy = step.escalation.policy
        level = policy.levels.filter(position=step.level).first() if policy else None
        name = f": {level.name}" if level is not None and level.name else ""
        return f"L{step.level}{name}"

    @admin.display(description="Paged")
    def paged(self, step: EscalationStep) -> str:
        return ", ".join(str(user) for user in step.users) or "nobody"


CONTROLS: dict[str, tuple[str, Callable[..., EscalationStep]]] = {
    "escalate": ("Escalate now (page the next level)", escalation_escalate),
    "reassign": ("Reassign to the user", escalation_reassign),
    "responder": ("Add the user as a responder", escalation_add_responder),
}
PAGING = ("reassign", "responder")


class ControlForm(forms.Form):
    action = forms.ChoiceField(choices=[(k, v[0]) for k, v in CONTROLS.items()])
    user = forms.ModelChoiceField(User.objects.none(), required=False)
    reason = forms.CharField(required=False, max_length=500)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") in PAGING and data.get("user") is None:
            self.add_error("user", "Choose whom to page.")
        return data


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin, TeamScopedAdmin):
    list_display = ["incident", "standing", "level", "next_level", "due_at", "policy"]
    list_filter = ["state"]
    search_fields = ["incident__public_id", "incident__title"]
    fields = ESCALATION_FIELDS
    readonly_fields = ESCALATION_FIELDS
    inlines = [StepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Escalation]:
        return escalation_list(user=request.user).prefetch_related("steps")

    @admin.display(description="State", ordering="state")
    def standing(self, escalation: Escalation) -> str:
        return escalation_standing(escalation=escalation)

    def may_act(self, request: HttpRequest) -> bool:
        return request.user.has_perm("escalation.change_escalation")

    def _controls(self, request: HttpRequest, data: Any = None) -> ControlForm:
        form = ControlForm(data)
        form.fields["user"].queryset = teammate_list(user=request.user)  # type: ignore[attr-defined]
        return form

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = kwargs.get("obj")
        if obj is not None and self.may_act(request):
            context["controls"] = self._controls(request)
            context["controls_url"] = reverse(
                "admin:escalation_escalation_controls", args=[obj.pk]
            )
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        controls = path(
            "<int:pk>/controls/",
            self.admin_site.admin_view(self.controls_view),
            name="escalation_escalation_controls",
        )
        return [controls, *drill_report_urls(self), *super().get_urls()]

    def controls_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Escalate, reassign or add a responder by hand; report the outcome."""
        escalation = self.get_object(request, str(pk))
        if escalation is None or request.method != "POST" or not self.may_act(request):
            raise PermissionDenied
        back = HttpResponseRedirect(
            reverse("admin:escalation_escalation_change", args=[pk])
        )
        form = self._controls(request, request.POST)
        if not form.is_valid():
            self.message_user(request, form.errors.as_text(), messages.ERROR)
            return back
        data = form.cleaned_data
        action = data["action"]
        who = {"user": data["user"], "reason": data["reason"]}
        try:
            step = CONTROLS[action][1](
                incident=escalation.incident,
                by=request_actor(request),
                **(who if action in PAGING else {}),
            )
        except EscalationError as error:
            messages.error(request, error.message)
            return back
        paged = ", ".join(step.users) or "nobody"
        messages.success(request, f"{step.get_cause_display()}: paged {paged}")
        return back
