from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.apis.checklists import IncidentResponseAidsViewSet
from incidents.apis.core import (
    IncidentViewSet,
    ServiceViewSet,
    SeverityLevelViewSet,
    TeamViewSet,
)
from incidents.apis.ingest import (
    AlertEventViewSet,
    AlertViewSet,
    IntegrationViewSet,
    MaintenanceWindowViewSet,
    UserReportView,
)
from incidents.apis.reviews import (
    ActionItemViewSet,
    IncidentReviewViewSet,
    RootCauseTagViewSet,
)
from incidents.apis.runbooks import (
    ExternalContactViewSet,
    IncidentRunbookStepViewSet,
    IncidentRunbookViewSet,
    RunbookViewSet,
)
from incidents.apis.security import EvidenceViewSet, IncidentVisibilityViewSet
from incidents.apis.status_updates import IncidentStatusUpdatesViewSet

# No API root of its own: config/urls.py lists every app's resources in one.
router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("services", ServiceViewSet, basename="service")
router.register("teams", TeamViewSet, basename="team")
router.register("severities", SeverityLevelViewSet, basename="severity")
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("alerts", AlertViewSet, basename="alert")
router.register("alert-events", AlertEventViewSet, basename="alert-event")
router.register(
    "maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window"
)
router.register("runbooks", RunbookViewSet, basename="runbook")
router.register(
    r"incidents/(?P<public_id>[^/.]+)/runbooks",
    IncidentRunbookViewSet,
    basename="incident-runbook",
)
router.register(
    r"incidents/(?P<public_id>[^/.]+)/runbook-steps",
    IncidentRunbookStepViewSet,
    basename="incident-runbook-step",
)
router.register(
    r"incidents/(?P<public_id>[^/.]+)/evidence",
    EvidenceViewSet,
    basename="incident-evidence",
)
router.register(
    "external-contacts", ExternalContactViewSet, basename="external-contact"
)
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("root-cause-tags", RootCauseTagViewSet, basename="root-cause-tag")

# Verification, the response checklist and resolve: more detail routes of an
# incident, in a router of their own so that the API root lists incidents once.
aids = SimpleRouter()
aids.register("incidents", IncidentResponseAidsViewSet, basename="incident-aids")
aids.register(
    "incidents", IncidentStatusUpdatesViewSet, basename="incident-status-updates"
)
aids.register("incidents", IncidentVisibilityViewSet, basename="incident-visibility")
# The post-incident review and repeat links: more detail routes of an incident.
aids.register("incidents", IncidentReviewViewSet, basename="incident-review")

urlpatterns = [
    path("reports/", UserReportView.as_view(), name="user-report"),
    *router.urls,
    *aids.urls,
]
