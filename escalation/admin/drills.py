"""Admin of drills: the scenario library, team drill schedules, the drills.

Every change goes through the drill services; the actions start a drill
by hand as `manage.py run_drill` and the API do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyAdmin, pretty_json
from config.admin_actions import apply_each
from config.auth import request_actor
from config.errors import VigilError
from escalation import selectors, services
from escalation.admin.teams import TeamOwnedAdmin
from escalation.exceptions import DrillError
from escalation.models import Drill, DrillScenario, DrillSchedule
from escalation.services.drill_schedules import (
    SETTINGS,
    drill_schedule_check,
    drill_schedule_cron,
    drill_schedule_scenario,
)
from escalation.services.drills import drill_scenario_check
from incidents.admin.scoping import TeamScopedAdmin


def _refused(form: Any, error: VigilError) -> None:
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, error.message)


class DrillScenarioForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                drill_scenario_check(scenario=self.instance)
            except DrillError as error:
                _refused(self, error)
        return data


@admin.register(DrillScenario)
class DrillScenarioAdmin(admin.ModelAdmin):
    form = DrillScenarioForm
    list_display = ["name", "severity", "category", "alert_format", "time_box"]
    list_filter = ["category", "alert_format"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["start_drill"]

    def save_model(
        self, request: HttpRequest, obj: DrillScenario, form: Any, change: bool
    ) -> None:
        services.drill_scenario_save(scenario=obj)

    @admin.action(description="Start a drill now (on the scenario's service)")
    def start_drill(
        self, request: HttpRequest, queryset: QuerySet[DrillScenario]
    ) -> None:
        by = request_actor(request)

        def start(scenario: DrillScenario) -> Drill:
            if scenario.service is None:
                raise DrillError("it names no service: start it from a schedule")
            return services.drill_start(
                scenario=scenario, team=scenario.service.team, by=by
            )

        apply_each(request, self, queryset, "Drill started", start)


class DrillScheduleForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and self.instance.team_id is not None:
            try:
                drill_schedule_check(schedule=self.instance)
            except DrillError as error:
                _refused(self, error)
        return data


@admin.register(DrillSchedule)
class DrillScheduleAdmin(TeamOwnedAdmin):
    form = DrillScheduleForm
    list_display = ["name", "team", "frequency", "cron", "time_zone", "enabled"]
    list_filter = ["team", "frequency", "enabled"]
    search_fields = ["name"]
    fields = ["team", *SETTINGS, "cron"]
    readonly_fields = ["cron"]
    actions = ["run_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DrillSchedule]:
        return selectors.drill_schedule_list(user=request.user)

    @admin.display(description="Crontab (in its time zone)")
    def cron(self, schedule: DrillSchedule) -> str:
        return drill_schedule_cron(schedule) if schedule.pk else "—"

    def save_model(
        self, request: HttpRequest, obj: DrillSchedule, form: Any, change: bool
    ) -> None:
        fields = {f: form.cleaned_data[f] for f in SETTINGS}
        if change:
            services.drill_schedule_update(schedule=obj, **fields)
            return
        created = services.drill_schedule_create(
            team=form.cleaned_data["team"], **fields
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: DrillSchedule) -> None:
        services.drill_schedule_delete(schedule=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[DrillSchedule]
    ) -> None:
        for schedule in queryset:
            services.drill_schedule_delete(schedule=schedule)

    @admin.action(description="Run a drill now (the schedule's scenario and mode)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[DrillSchedule]) -> None:
        by = request_actor(request)

        def start(schedule: DrillSchedule) -> Drill:
            return services.drill_start(
                scenario=drill_schedule_scenario(schedule=schedule),
                team=schedule.team,
                mode=schedule.mode,
                by=by,
            )

        apply_each(request, self, queryset, "Drill started", start)


@admin.register(Drill)
class DrillAdmin(ReadOnlyAdmin, TeamScopedAdmin):
    list_display = [
        "id",
        "scenario",
        "team",
        "mode",
        "state",
        "due_at",
        "incident_link",
        "report_link",
    ]
    list_filter = ["state", "mode", "team", "scenario"]
    fields = readonly_fields = (
        "scenario",
        "team",
        "service",
        "schedule",
        "slot",
        "mode",
        "state",
        "reason",
        "due_at",
        "started_at",
        "ends_at",
        "finished_at",
        "incident_link",
        "report_link",
        "alert_sent",
        "started_by",
    )
    actions = ["call_off"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Drill]:
        return selectors.drill_list(user=request.user)

    @admin.display(description="Incident")
    def incident_link(self, drill: Drill) -> str:
        if drill.incident is None:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[drill.incident.pk])
        return format_html('<a href="{}">{}</a>', url, drill.incident.public_id)

    @admin.display(description="Report")
    def report_link(self, drill: Drill) -> str:
        if drill.incident is None:
            return "—"
        url = reverse("admin:escalation_drill_report", args=[drill.incident.public_id])
        return format_html('<a href="{}">Drill report</a>', url)

    @admin.display(description="Alert sent through ingest")
    def alert_sent(self, drill: Drill) -> str:
        return pretty_json(drill.alert_event.payload) if drill.alert_event else "—"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The action needs it; the fields stay read-only.
        return bool(request.user.has_perm("escalation.change_drill"))

    @admin.action(
        description="Call off (a drill that has not begun)",
        permissions=["change"],
    )
    def call_off(self, request: HttpRequest, queryset: QuerySet[Drill]) -> None:
        by = request_actor(request)
        cancel = services.drill_cancel
        apply_each(
            request, self, queryset, "Called off", lambda d: cancel(drill=d, by=by)
        )
