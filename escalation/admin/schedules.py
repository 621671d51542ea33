"""Admin for on-call schedules, their layers and overrides.

Changes go through the services; the schedule page shows who is on call now
and the next shifts, as the API computes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from config.admin_actions import apply_each
from config.auth import request_actor
from escalation import selectors, services
from escalation.admin.oncall import OncallAdminMixin
from escalation.admin.teams import TeamOwnedAdmin
from escalation.exceptions import ScheduleError
from escalation.models import Layer, LayerMember, Override, Restriction, Schedule
from escalation.oncall import Window
from incidents.admin.scoping import TeamScopedAdmin

NEXT_SHIFTS = 10
LAYER_FIELDS = [
    "position",
    "name",
    "start_date",
    "handoff_time",
    "shift_count",
    "shift_unit",
]


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _in_zone(at: datetime, schedule: Schedule) -> str:
    """A time as the schedule keeps it: in its own zone, the zone named."""
    zone = selectors.schedule_zone(schedule=schedule)
    return f"{at.astimezone(zone):%a %Y-%m-%d %H:%M} {zone}"


def _source(shift: selectors.ShiftDetail) -> str:
    if shift.override is not None:
        return f"override: {shift.override.reason or 'covering'}"
    return f"layer: {shift.layer.name}" if shift.layer else "layer"


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    fields = [*LAYER_FIELDS, "turns"]
    readonly_fields = ["turns"]
    show_change_link = True
    verbose_name_plural = (
        "Layers (a higher position wins; members on each layer's page)"
    )

    @admin.display(description="Turns")
    def turns(self, layer: Layer) -> str:
        names = [m.user.get_username() for m in layer.members.select_related("user")]
        return " → ".join(names) or "nobody yet"


@admin.register(Schedule)
class ScheduleAdmin(OncallAdminMixin, TeamOwnedAdmin):
    list_display = ["name", "team", "time_zone", "oncall_now"]
    list_filter = ["team"]
    search_fields = ["name"]
    fields = [
        "name",
        "team",
        "time_zone",
        "description",
        "oncall_now",
        "next_shifts",
        "ical_url",
    ]
    readonly_fields = ["oncall_now", "next_shifts", "ical_url"]
    inlines = [LayerInline]
    actions = ["rotate_ical"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Schedule]:
        return selectors.schedule_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = ["team"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    @admin.display(description="On call now")
    def oncall_now(self, schedule: Schedule) -> str:
        if schedule.pk is None:
            return "—"
        users = selectors.schedule_oncall(schedule=schedule, at=timezone.now())
        return ", ".join(_person(u) for u in users) or "nobody (a gap)"

    @admin.display(description="Next shifts")
    def next_shifts(self, schedule: Schedule) -> SafeString:
        if schedule.pk is None:
            return format_html("{}", "—")
        shifts = selectors.schedule_shift_details(
            schedule=schedule, start=timezone.now(), count=NEXT_SHIFTS
        )
        zone = selectors.schedule_zone(schedule=schedule)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{s.start.astimezone(zone):%a %Y-%m-%d %H:%M %Z}",
                    f"{s.end.astimezone(zone):%a %Y-%m-%d %H:%M %Z}",
                    _person(s.user),
                    _source(s),
                )
                for s in shifts
            ),
        )
        return format_html(
            "<table><tr><th>From</th><th>To</th><th>On call</th><th>By</th></tr>"
            "{}</table>",
            rows or format_html("<tr><td colspan=4>{}</td></tr>", "No shifts"),
        )

    @admin.display(description="iCal feed (the URL is the secret)")
    def ical_url(self, schedule: Schedule) -> str:
        if schedule.pk is None:
            return "—"
        return reverse("ical-schedule", args=[schedule.ical_token])

    def save_model(
        self, request: HttpRequest, obj: Schedule, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        fields = {f: data[f] for f in ("name", "time_zone", "description")}
        if change:
            services.schedule_update(schedule=obj, **fields)
            return
        created = services.schedule_create(team=data["team"], **fields)
        obj.pk, obj.ical_token = created.pk, created.ical_token
        obj._state.adding = False

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        schedule = form.instance
        formset.new_objects, formset.changed_objects = [], []
        formset.deleted_objects = [f.instance for f in formset.deleted_forms]
        for layer in formset.deleted_objects:
            if layer.pk is not None:
                services.layer_delete(layer=layer)
        for layer_form in formset.forms:
            if layer_form in formset.deleted_forms or not layer_form.has_changed():
                continue
            data = {f: layer_form.cleaned_data[f] for f in LAYER_FIELDS}
            if layer_form.instance.pk is None:
                layer = services.layer_create(schedule=schedule, members=[], **data)
                formset.new_objects.append(layer)
            else:
                layer = services.layer_update(layer=layer_form.instance, **data)
                formset.changed_objects.append((layer, layer_form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        services.schedule_delete(schedule=obj)

    @admin.action(description="Give the iCal feed a new secret URL")
    def rotate_ical(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        rotate = services.schedule_ical_rotate
        apply_each(request, self, queryset, "New URL", lambda s: rotate(schedule=s))


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    fields = ["position", "user"]
    extra = 1
    verbose_name_plural = "Members, in turn order (a user may take several turns)"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            team = obj.schedule.team
            choices = selectors.team_member_choices(team=team)
            field = formset.form.base_fields["user"]
            field.queryset = choices  # type: ignore[attr-defined]
        return formset


class RestrictionInline(admin.TabularInline):
    model = Restriction
    fields = ["start_day", "start_time", "end_day", "end_time"]
    extra = 0
    verbose_name_plural = (
        "Restrictions: weekly windows of local time in which the layer has "
        "someone on call (an end before the start wraps into the next week)"
    )


@admin.register(Layer)
class LayerAdmin(TeamScopedAdmin):
    list_display = ["name", "schedule", "position", "shift_count", "shift_unit"]
    list_filter = ["schedule"]
    fields = ["schedule", *LAYER_FIELDS]
    readonly_fields = ["schedule"]
    inlines = [LayerMemberInline, RestrictionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Layer]:
        schedules = selectors.schedule_list(user=request.user)
        return Layer.objects.filter(schedule__in=schedules).select_related("schedule")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # layers are added on their schedule's page

    def save_model(
        self, request: HttpRequest, obj: Layer, form: Any, change: bool
    ) -> None:
        """Save nothing yet: `save_related` saves the layer with its members."""

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        kept = {
            type(formset).model: [
                f.cleaned_data
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            for formset in formsets
        }
        members = sorted(kept[LayerMember], key=lambda row: row["position"])
        services.layer_update(
            layer=form.instance,
            members=[row["user"] for row in members],
            restrictions=[
                Window(r["start_day"], r["start_time"], r["end_day"], r["end_time"])
                for r in kept[Restriction]
            ],
            **{f: form.cleaned_data[f] for f in LAYER_FIELDS},
        )
        for formset in formsets:
            # The service replaced the rows; the history names no single one.
            formset.new_objects, formset.changed_objects = [], []
            formset.deleted_objects = []


class OverrideForm(forms.ModelForm):
    actor: Any = None

    class Meta:
        model = Override
        fields = ["schedule", "user", "covered_user", "start", "end", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            try:
                self.instance = services.override_create(
                    schedule=data["schedule"],
                    user=data["user"],
                    covered_user=data.get("covered_user"),
                    start=data["start"],
                    end=data["end"],
                    reason=data.get("reason", ""),
                    by=self.actor,
                )
            except ScheduleError as error:
                field = str(error.details.get("field", ""))
                self.add_error(field if field in self.fields else None, error.message)
        return data


@admin.register(Override)
class OverrideAdmin(TeamScopedAdmin):
    form = OverrideForm
    list_display = [
        "schedule",
        "user",
        "covered_user",
        "starts",
        "ends",
        "reason",
        "swap_of",
    ]
    list_filter = ["schedule"]
    search_fields = ["user__username", "covered_user__username", "reason"]
    list_select_related = ["schedule", "user", "covered_user"]
    date_hierarchy = "start"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Override]:
        schedules = selectors.schedule_list(user=request.user)
        return Override.objects.filter(schedule__in=schedules)

    @admin.display(description="Start (schedule's zone)", ordering="start")
    def starts(self, override: Override) -> str:
        return _in_zone(override.start, override.schedule)

    @admin.display(description="End (schedule's zone)", ordering="end")
    def ends(self, override: Override) -> str:
        return _in_zone(override.end, override.schedule)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request_actor(request)  # type: ignore[attr-defined]
        return form

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "schedule":
            kwargs["queryset"] = selectors.schedule_list(user=request.user)
        elif db_field.name in ("user", "covered_user"):
            kwargs["queryset"] = selectors.schedule_people(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an override is replaced (deleted and added), not edited

    def delete_model(self, request: HttpRequest, obj: Override) -> None:
        services.override_delete(override=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[Override]
    ) -> None:
        for override in queryset:
            services.override_delete(override=override)
