"""Admin for runbooks and external contacts, and the checklist on an incident.

Runbooks are written with their steps by the service; each step of the
checklist on the incident's page posts to a small admin view that calls the
step services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from config.admin_actions import redirect_back
from config.auth import request_actor
from config.errors import VigilError
from incidents import runbook_conditions, runbook_selectors
from incidents.admin.scoping import TeamScopedAdmin
from incidents.exceptions import RunbookError
from incidents.models import (
    ExternalContact,
    IncidentRunbookStep,
    Runbook,
    RunbookStep,
)
from incidents.services import runbook_setup, runbooks
from incidents.services.runbook_setup import CONTACT_FIELDS, RUNBOOK_FIELDS, STEP_FIELDS

State = IncidentRunbookStep.State


# A link typed without a scheme is taken as https.
URL_FIELDS: dict[type[Any], dict[str, Any]] = {
    models.URLField: {"widget": widgets.AdminURLFieldWidget, "assume_scheme": "https"}
}


def _offer_own_contacts(db_field: Any, request: HttpRequest, kwargs: Any) -> None:
    if db_field.name == "external_contact":
        kwargs["queryset"] = runbook_selectors.external_contact_list(user=request.user)


class RunbookBaseAdmin(TeamScopedAdmin):
    """Team-scoped, and external contacts offered from the user's teams."""

    formfield_overrides = URL_FIELDS

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        _offer_own_contacts(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ExternalContact)
class ExternalContactAdmin(RunbookBaseAdmin):
    list_display = ["name", "kind", "team", "emergency_line", "hours"]
    list_filter = ["kind", "team"]
    search_fields = ["name", "account_reference", "notes"]
    fields = list(CONTACT_FIELDS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExternalContact]:
        return runbook_selectors.external_contact_list(user=request.user)

    def save_model(
        self, request: HttpRequest, obj: ExternalContact, form: Any, change: bool
    ) -> None:
        data = {f: form.cleaned_data[f] for f in CONTACT_FIELDS}
        if change:
            runbook_setup.external_contact_update(
                contact=ExternalContact.objects.get(pk=obj.pk), **data
            )
            return
        contact = runbook_setup.external_contact_create(**data)
        obj.pk = contact.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: ExternalContact) -> None:
        runbook_setup.external_contact_delete(contact=obj)


class StepFormSet(forms.BaseInlineFormSet):
    """Checks the runbook and its steps together, as the service will."""

    def steps(self) -> list[dict[str, Any]]:
        kept = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
        ]
        return [
            {f: form.cleaned_data.get(f) for f in ("position", *STEP_FIELDS)}
            for form in kept
        ]

    def clean(self) -> None:
        super().clean()
        runbook = self.instance
        try:
            runbook_setup.runbook_validate(
                team=runbook.team,
                service=runbook.service,
                severity_at_least=runbook.severity_at_least,
                severity_at_most=runbook.severity_at_most,
                steps=self.steps(),
            )
        except RunbookError as error:
            raise forms.ValidationError(error.message) from None


class StepInline(admin.TabularInline):
    model = RunbookStep
    formfield_overrides = URL_FIELDS
    formset = StepFormSet
    fields = [
        "position",
        "phase",
        "text",
        "commands",
        "link",
        "required",
        "external_contact",
    ]
    extra = 1
    ordering = ["position"]

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        _offer_own_contacts(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Runbook)
class RunbookAdmin(RunbookBaseAdmin):
    list_display = ["name", "team", "attaches_to", "enabled", "step_count"]
    list_filter = ["enabled", "category", "team"]
    search_fields = ["name", "description"]
    fields = list(RUNBOOK_FIELDS)
    inlines = [StepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Runbook]:
        return runbook_selectors.runbook_list(user=request.user)

    def _may_write(self, request: HttpRequest, obj: Runbook | None) -> bool:
        # Runbooks shared by every team are the superusers' to change.
        return obj is None or obj.team_id is not None or request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_write(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_write(
            request, obj
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "team" in form.base_fields and not request.user.is_superuser:
            form.base_fields["team"].required = True
        return form

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Deleting goes one runbook at a time, where shared ones are guarded.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Attaches to")
    def attaches_to(self, runbook: Runbook) -> str:
        return runbook_conditions.describe(runbook)

    @admin.display(description="Steps")
    def step_count(self, runbook: Runbook) -> int:
        return len(runbook.steps.all())

    def save_model(
        self, request: HttpRequest, obj: Runbook, form: Any, change: bool
    ) -> None:
        # Written with its steps, by the service, in save_related.
        pass

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        data = {f: form.cleaned_data[f] for f in RUNBOOK_FIELDS}
        steps = formsets[0].steps()
        if change:
            runbook_setup.runbook_update(runbook=form.instance, steps=steps, **data)
            return
        runbook = runbook_setup.runbook_create(steps=steps, **data)
        form.instance.pk = runbook.pk
        form.instance._state.adding = False

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # The steps were replaced by the service, not saved by the formset.
        return super().construct_change_message(request, form, [], add)

    def delete_model(self, request: HttpRequest, obj: Runbook) -> None:
        runbook_setup.runbook_delete(runbook=obj)


# --- The checklist on the incident's page -----------------------------------
# Rendered by the incident's change form template (templatetags), each step a
# form of its own posting here.

STEP_CHANGES = ("tick", "untick", "skip", "note")


def runbook_step_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    """The incident admin's checklist view: one change to one step."""

    @require_POST
    def change_step(request: HttpRequest, pk: str, step_pk: str) -> HttpResponse:
        incident = get_object_or_404(model_admin.get_queryset(request), pk=pk)
        if not model_admin.has_change_permission(request, incident):
            raise PermissionDenied
        step = get_object_or_404(
            IncidentRunbookStep.objects.select_related("incident_runbook"),
            pk=step_pk,
            incident=incident,
        )
        verb = str(request.POST.get("verb", ""))
        text = str(request.POST.get("text", ""))
        try:
            _apply(verb, step, text, request)
        except VigilError as error:
            model_admin.message_user(request, error.message, messages.ERROR)
        change = reverse("admin:incidents_incident_change", args=[incident.pk])
        return redirect_back(request, f"{change}#runbook-step-{step.pk}")

    return [
        path(
            "<int:pk>/runbook-steps/<int:step_pk>/",
            model_admin.admin_site.admin_view(change_step),
            name="incidents_incident_runbook_step",
        )
    ]


def _apply(
    verb: str, step: IncidentRunbookStep, text: str, request: HttpRequest
) -> None:
    by = request_actor(request)
    if verb == "tick":
        runbooks.runbook_step_tick(step=step, by=by, via="admin")
    elif verb == "untick":
        runbooks.runbook_step_untick(step=step, by=by, via="admin")
    elif verb == "skip":
        runbooks.runbook_step_skip(step=step, reason=text, by=by, via="admin")
    elif verb == "note":
        runbooks.runbook_step_note(step=step, text=text, by=by, via="admin")
    else:
        raise RunbookError(f"say what to do with the step: {', '.join(STEP_CHANGES)}")
