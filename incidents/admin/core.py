"""Django admin for incidents: every change goes through the services."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin import ReadOnlyInline, pretty_json
from config.admin_actions import apply_each
from config.auth import request_actor
from incidents import console, selectors, services
from incidents.admin.checklists import ResponseAidsAdminMixin
from incidents.admin.reviews import IncidentReviewAdminMixin
from incidents.admin.runbooks import runbook_step_urls
from incidents.admin.scoping import TeamScopedAdmin
from incidents.admin.security import VISIBILITY_FIELDS, SecurityAdminMixin
from incidents.admin.status_updates import StatusUpdateAdminMixin
from incidents.admin.warroom import WarRoomAdminMixin
from incidents.models import (
    AlertEvent,
    Incident,
    IncidentRole,
    RoleAssignment,
    SeverityLevel,
    TimelineEvent,
)
from incidents.services.incident import DECLARATION_FIELDS, EDITABLE_FIELDS
from incidents.timeline import timeline_kind_label
from incidents.timeline_document import timeline_download


def severity_badge(severity: SeverityLevel) -> SafeString:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;font-weight:600" title="{}">{}</span>',
        severity.color,
        severity.name,
        severity.code,
    )


class RoleAssignmentInline(ReadOnlyInline):
    model = RoleAssignment
    fields = ["role", "user", "assigned_at", "assigned_by"]
    verbose_name_plural = "Roles (change with the API or the actions above)"


class TimelineInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ["at", "kind_label", "message", "actor", "via"]
    readonly_fields = ["kind_label"]
    ordering = ["at", "id"]
    verbose_name_plural = "Timeline"

    @admin.display(description="Kind")
    def kind_label(self, event: TimelineEvent) -> str:
        return timeline_kind_label(event.kind)


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    fields = ["received_at", "source", "integration", "action", "dedup_key", "raw"]
    readonly_fields = ["raw"]
    ordering = ["id"]
    verbose_name_plural = "Alert events (as received)"

    @admin.display(description="Payload")
    def raw(self, event: AlertEvent) -> SafeString:
        return pretty_json(event.payload)


# Whether and how the public status page shows it: set once it is declared.
PUBLIC_FIELDS = ["is_public", "public_title"]


class IncidentAdminForm(forms.ModelForm):
    severity_reason = forms.CharField(
        required=False,
        max_length=500,
        label="Why the severity changes",
        help_text="Recorded on the timeline with the change.",
    )

    class Meta:
        model = Incident
        fields = [
            *DECLARATION_FIELDS,
            "root_cause",
            "resolution_type",
            *VISIBILITY_FIELDS,
            *PUBLIC_FIELDS,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        started, detected = data.get("started_at"), data.get("detected_at")
        if self.instance.pk:
            detected = self.instance.detected_at
        if detected and detected > timezone.now():
            self.add_error("detected_at", "Cannot be in the future.")
        if started and detected and started > detected:
            self.add_error("started_at", "Impact cannot begin after detection.")
        return data


def _public_id(incident: Incident) -> str:
    return incident.public_id


@admin.register(Incident)
class IncidentAdmin(
    WarRoomAdminMixin,
    StatusUpdateAdminMixin,
    SecurityAdminMixin,
    IncidentReviewAdminMixin,
    ResponseAidsAdminMixin,
    TeamScopedAdmin,
):
    form = IncidentAdminForm
    list_display = [
        "war_room",
        "badge",
        "title",
        "status",
        "service",
        "commander",
        "is_drill",
        "detected_at",
        "acknowledged_at",
    ]
    list_display_links = ["title"]
    list_filter = ["status", "severity", "service", "service__team", "is_drill"]
    search_fields = ["public_id", "title"]
    date_hierarchy = "detected_at"
    list_select_related = ["severity", "service__team"]
    actions = [
        "acknowledge",
        "resolve",
        "close",
        "assign_me_commander",
        "post_status_update",
    ]
    # Other apps add theirs with incident_admin_inline_add (notifications:
    # the incident's deliveries).
    inlines: ClassVar[list[type[InlineModelAdmin[Any, Any]]]] = [
        RoleAssignmentInline,
        TimelineInline,
        AlertEventInline,
    ]
    readonly_fields = [
        "public_id",
        "status",
        "war_room_channel",
        "timeline_export",
        "communication",
        "post_incident_review",
        "repeat_of",
        "verification",
        "response_checklist",
        "evidence_chain",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
        "created_by",
        "created_at",
    ]
    autocomplete_fields = ["service", "affected_services"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return selectors.incident_list(user=request.user)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return [f for f in fields if obj is not None or f != "severity_reason"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return PUBLIC_FIELDS if obj is None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if obj is not None:
            fields += ["detected_at", "is_drill"]
            if obj.status in (Incident.Status.CLOSED, Incident.Status.CANCELLED):
                fields.append("severity")
        return fields

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "service":
            kwargs["queryset"] = selectors.service_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Severity", ordering="severity__rank")
    def badge(self, incident: Incident) -> SafeString:
        return severity_badge(incident.severity)

    @admin.display(description="Incident", ordering="public_id")
    def war_room(self, incident: Incident) -> SafeString:
        url = reverse("admin:incidents_incident_war_room", args=[incident.pk])
        return format_html(
            '<a class="incident-id" href="{}" title="War room">{}</a>',
            url,
            incident.public_id,
        )

    @admin.display(description="IC")
    def commander(self, incident: Incident) -> str:
        holder = console.commander(incident)
        return console.user_name(holder) if holder is not None else "—"

    @admin.display(description="Timeline document")
    def timeline_export(self, incident: Incident) -> SafeString:
        if not incident.pk:
            return format_html("{}", "—")
        url = reverse("admin:incidents_incident_timeline", args=[incident.pk])
        return format_html('<a href="{}">Download Markdown</a>', url)

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "<int:pk>/timeline.md",
            self.admin_site.admin_view(self.timeline_view),
            name="incidents_incident_timeline",
        )
        return [export, *runbook_step_urls(self), *super().get_urls()]

    def timeline_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = get_object_or_404(self.get_queryset(request), pk=pk)
        return timeline_download(incident=incident)

    def save_model(
        self, request: HttpRequest, obj: Incident, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            created = services.incident_create(
                by=request_actor(request),
                via="admin",
                **{k: data[k] for k in DECLARATION_FIELDS},
            )
            obj.pk, obj.public_id = created.pk, created.public_id
            obj._state.adding = False
            return
        edits = {
            f: data[f]
            for f in form.changed_data
            if f in (*EDITABLE_FIELDS, "affected_services")
        }
        if edits:
            services.incident_update(
                incident=obj, by=request_actor(request), via="admin", **edits
            )
        if "severity" in form.changed_data:
            services.incident_change_severity(
                incident=obj,
                severity=data["severity"],
                by=request_actor(request),
                via="admin",
                reason=data.get("severity_reason", ""),
            )
        self.save_visibility(request, obj, form)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        # Affected services were saved by the services above, with a timeline
        # entry, so the form's own many-to-many save is skipped. The inlines
        # are read-only: saving their formsets changes nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Acknowledge selected incidents", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        apply_each(
            request,
            self,
            queryset,
            "Acknowledged",
            lambda i: services.incident_acknowledge(
                incident=i, by=request_actor(request), via="admin"
            ),
            label=_public_id,
        )

    @admin.action(description="Resolve selected incidents", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        apply_each(
            request,
            self,
            queryset,
            "Resolved",
            lambda i: services.incident_transition(
                incident=i,
                to=Incident.Status.RESOLVED,
                by=request_actor(request),
                via="admin",
            ),
            label=_public_id,
        )

    @admin.action(description="Assign me as incident commander", permissions=["change"])
    def assign_me_commander(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> None:
        apply_each(
            request,
            self,
            queryset,
            "You are incident commander of",
            lambda i: services.incident_assign_role(
                incident=i,
                role=IncidentRole.INCIDENT_COMMANDER,
                user=request_actor(request),
                by=request_actor(request),
                via="admin",
            ),
            label=_public_id,
        )


def incident_admin_inline_add(inline: type[InlineModelAdmin[Any, Any]]) -> None:
    """Show `inline` (another app's rows of an incident) on the incident page."""
    IncidentAdmin.inlines.append(inline)
