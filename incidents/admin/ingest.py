"""Admin for integrations, received events, alerts, changes and maintenance."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from config.admin import ReadOnlyAdmin, pretty_json
from config.admin_actions import apply_each
from config.auth import request_actor
from incidents import selectors, services
from incidents.admin.scoping import TeamScopedAdmin
from incidents.exceptions import IncidentError
from incidents.models import (
    Alert,
    AlertEvent,
    ChangeEvent,
    Integration,
    MaintenanceWindow,
    Service,
    SeverityLevel,
)
from incidents.services.quarantine import REDRIVE_PERMISSION
from incidents.services.setup import INTEGRATION_SETTINGS


@admin.register(Integration)
class IntegrationAdmin(TeamScopedAdmin):
    list_display = ["name", "kind", "service", "enabled", "key_prefix", "last_ping_at"]
    list_filter = ["kind", "enabled", "service"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = [
        "key_prefix",
        "previous_key_expires_at",
        "last_ping_at",
        "created_at",
    ]
    actions = ["rotate_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Integration]:
        return selectors.integration_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = ["kind", "service"] if obj else []
        return [*self.readonly_fields, *fixed]

    def save_model(
        self, request: HttpRequest, obj: Integration, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        settings = {f: data[f] for f in INTEGRATION_SETTINGS if f in data}
        if change:
            services.integration_update(integration=obj, **settings)
            return
        created, key = services.integration_create(
            kind=data["kind"], service=data["service"], **settings
        )
        obj.pk, obj.key_prefix = created.pk, created.key_prefix
        obj._state.adding = False
        self.message_user(
            request,
            f"Integration key (shown only now, copy it): {key}",
            messages.WARNING,
        )

    @admin.action(
        description="Rotate key (old key works 24 h more)", permissions=["change"]
    )
    def rotate_key(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            _, key = services.integration_rotate_key(integration=integration)
            self.message_user(
                request,
                f"{integration.name}: new key (shown only now, copy it): {key}",
                messages.WARNING,
            )


class ReportForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    title = forms.CharField(max_length=1024)
    description = forms.CharField(widget=forms.Textarea, required=False)
    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.order_by("rank"),
        required=False,
        help_text="Leave empty unless you know; P2 by default.",
    )


class EventStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return AlertEvent.Status.choices

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AlertEvent]
    ) -> QuerySet[AlertEvent]:
        value = self.value()
        if value in AlertEvent.Status.values:
            return queryset.filter(AlertEvent.with_status(value))
        return queryset


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin, TeamScopedAdmin):
    list_display = ["received_at", "source", "integration", "action", "dedup_key",
                    "state", "attempts", "incident", "outcome"]  # fmt: skip
    list_filter = [EventStatusFilter, "source", "integration", "action"]
    search_fields = ["dedup_key", "incident__public_id"]
    readonly_fields = ["raw"]
    exclude = ["payload"]
    change_list_template = "admin/incidents/alertevent/change_list.html"
    actions = ["redrive"]

    @admin.display(description="Status")
    def state(self, event: AlertEvent) -> str:
        return AlertEvent.Status(event.status).label

    def has_redrive_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDRIVE_PERMISSION)

    @admin.action(
        description="Re-drive (apply failed events again)", permissions=["redrive"]
    )
    def redrive(self, request: HttpRequest, queryset: QuerySet[AlertEvent]) -> None:
        redrive = services.alert_event_redrive
        apply_each(request, self, queryset, "Re-driven", lambda e: redrive(event=e))

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertEvent]:
        return selectors.alert_event_list(user=request.user).select_related(
            "integration"
        )

    @admin.display(description="Payload as received")
    def raw(self, event: AlertEvent) -> SafeString:
        return pretty_json(event.payload)

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "report/",
            self.admin_site.admin_view(self.report_view),
            name="incidents_alertevent_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Report a problem by hand (SOP: user reports and tickets)."""
        # A report opens an incident: the right to declare one, as the API asks.
        if not request.user.has_perm("incidents.add_incident"):
            raise PermissionDenied
        form = ReportForm(request.POST or None)
        form.fields["service"].queryset = selectors.service_list(user=request.user)  # type: ignore[attr-defined]
        if request.method == "POST" and form.is_valid():
            severity = form.cleaned_data["severity"]
            services.user_report_create(
                service=form.cleaned_data["service"],
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                severity=severity.code if severity else "",
                by=request_actor(request),
            )
            self.message_user(request, "Report received: a worker opens the incident.")
            return HttpResponseRedirect(
                reverse("admin:incidents_alertevent_changelist")
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Report a problem",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/incidents/report.html", context)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin, TeamScopedAdmin):
    list_display = ["summary", "status", "severity", "service", "integration",
                    "incident", "event_count", "first_seen_at"]  # fmt: skip
    list_filter = ["status", "source", "severity", "service"]
    search_fields = ["dedup_key", "summary", "incident__public_id"]
    readonly_fields = ["pretty_details"]
    exclude = ["details"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return selectors.alert_list(user=request.user).select_related("integration")

    @admin.display(description="Details")
    def pretty_details(self, alert: Alert) -> SafeString:
        return pretty_json(alert.details)


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin, TeamScopedAdmin):
    list_display = ["timestamp", "service", "summary", "source", "integration"]
    list_filter = ["service"]
    search_fields = ["summary", "source"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChangeEvent]:
        return selectors.change_event_list(user=request.user)


class SuppressedInline(admin.TabularInline):
    model = Alert
    fk_name = "maintenance_window"
    fields = ["first_seen_at", "status", "dedup_key", "summary"]
    readonly_fields = ["first_seen_at", "status", "dedup_key", "summary"]
    extra = 0
    can_delete = False
    verbose_name_plural = "Alerts kept quiet"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(TeamScopedAdmin):
    list_display = ["service", "starts_at", "ends_at", "reason", "closed_at"]
    list_filter = ["service"]
    fields = ["service", "starts_at", "ends_at", "reason", "created_by", "closed_at",
              "summary"]  # fmt: skip
    readonly_fields = ["created_by", "closed_at", "summary"]
    inlines = [SuppressedInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MaintenanceWindow]:
        return selectors.maintenance_window_list(user=request.user)

    def save_model(
        self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            created = services.maintenance_window_create(
                service=obj.service,
                starts_at=obj.starts_at,
                ends_at=obj.ends_at,
                reason=obj.reason,
                by=request_actor(request),
            )
        except IncidentError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = created.pk
        obj._state.adding = False
