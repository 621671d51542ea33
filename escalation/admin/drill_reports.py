"""The admin's drill report page (`/admin/escalation/escalation/drill-report/
<public id>/`), its Markdown download, and the link to it on a drill's
incident page (an inline of the drill's escalation)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin import ReadOnlyInline
from escalation.drill_document import drill_download
from escalation.drill_scores import DrillReport, Outcome
from escalation.drill_selectors import drill_report_get
from escalation.models import Escalation
from incidents.admin.core import incident_admin_inline_add
from incidents.models import Incident


def drill_report_urls(model_admin: admin.ModelAdmin[Any]) -> list[URLPattern]:
    """The report page and its Markdown, behind the admin's sign-in."""
    page = DrillReportPages(model_admin)
    wrap = model_admin.admin_site.admin_view
    return [
        path(
            "drill-report/<str:public_id>/",
            wrap(page.html),
            name="escalation_drill_report",
        ),
        path(
            "drill-report/<str:public_id>/markdown/",
            wrap(page.markdown),
            name="escalation_drill_report_markdown",
        ),
    ]


class DrillReportPages:
    def __init__(self, model_admin: admin.ModelAdmin[Any]) -> None:
        self.model_admin = model_admin

    def _report(self, request: HttpRequest, public_id: str) -> DrillReport:
        # Readers of escalations read their drills' reports.
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        report = drill_report_get(
            user=request.user, public_id=public_id, now=timezone.now()
        )
        if report is None:
            raise Http404(f"No drill {public_id} among your teams' incidents.")
        return report

    def html(self, request: HttpRequest, public_id: str) -> HttpResponse:
        report = self._report(request, public_id)
        context = {
            **self.model_admin.admin_site.each_context(request),
            "title": f"Drill report: {report.title}",
            "report": report,
            "outcome": Outcome(report.outcome).label.lower(),
        }
        return TemplateResponse(request, "admin/escalation/drill_report.html", context)

    def markdown(self, request: HttpRequest, public_id: str) -> HttpResponse:
        return drill_download(self._report(request, public_id))


class DrillReportInline(ReadOnlyInline):
    """On a drill's incident page: the link to its report."""

    model = Escalation
    fields = ["report"]
    readonly_fields = ["report"]
    verbose_name = verbose_name_plural = "Drill report"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown on a drill's page only (never on the add page), to whoever
        # may read escalations.
        drill = isinstance(obj, Incident) and obj.is_drill
        return drill and super().has_view_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # else a superuser's page would carry it everywhere

    def get_queryset(self, request: HttpRequest) -> QuerySet[Escalation]:
        # The formset keeps the page's incident's escalation; the permission
        # was asked with the incident, which the admin's own query cannot.
        return Escalation.objects.select_related("incident")

    @admin.display(description="Report")
    def report(self, escalation: Escalation) -> SafeString:
        public_id = escalation.incident.public_id
        return format_html(
            '<a href="{}">Drill report</a> · <a href="{}">Markdown</a>',
            reverse("admin:escalation_drill_report", args=[public_id]),
            reverse("admin:escalation_drill_report_markdown", args=[public_id]),
        )


incident_admin_inline_add(DrillReportInline)
