from django.urls import URLPattern, path, re_path
from rest_framework.routers import SimpleRouter

from escalation import ical
from escalation.apis.controls import IncidentEscalationViewSet
from escalation.apis.drill_reports import (
    DrillReportMarkdownView,
    DrillReportView,
    DrillTrendsView,
)
from escalation.apis.drills import (
    DrillScenarioViewSet,
    DrillScheduleViewSet,
    DrillViewSet,
)
from escalation.apis.policies import (
    EscalationPolicyViewSet,
    EscalationPreviewView,
    ServicePolicyView,
)
from escalation.apis.schedules import (
    CalendarFeedRotateView,
    CalendarFeedView,
    OverrideViewSet,
    ScheduleViewSet,
)

# No API root of its own: config/urls.py lists every app's resources in one.
router = SimpleRouter()
# The library and the schedules before the drills: /drills/<id>/ takes digits.
router.register("drills/scenarios", DrillScenarioViewSet, basename="drill-scenario")
router.register("drills/schedules", DrillScheduleViewSet, basename="drill-schedule")
router.register("drills", DrillViewSet, basename="drill")
router.register(
    "escalation-policies", EscalationPolicyViewSet, basename="escalation-policy"
)
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register(
    r"schedules/(?P<schedule_pk>[0-9]+)/overrides",
    OverrideViewSet,
    basename="schedule-override",
)


def incident_route(suffix: str, method: str, action: str) -> URLPattern:
    return path(
        f"incidents/<str:public_id>/{suffix}/",
        IncidentEscalationViewSet.as_view({method: action}),
        name=f"incident-{action}",
    )


urlpatterns = [
    # With or without the trailing slash: it is a query, often typed by hand.
    re_path(
        r"^services/(?P<slug>[-\w]+)/escalation-preview/?$",
        EscalationPreviewView.as_view(),
        name="service-escalation-preview",
    ),
    path(
        "services/<slug:slug>/escalation-policy/",
        ServicePolicyView.as_view(),
        name="service-escalation-policy",
    ),
    incident_route("escalation", "get", "retrieve"),
    incident_route("escalate", "post", "escalate"),
    incident_route("reassign", "post", "reassign"),
    incident_route("responders", "post", "responders"),
    path(
        "drills/reports/<str:public_id>/",
        DrillReportView.as_view(),
        name="drill-report",
    ),
    path(
        "drills/reports/<str:public_id>/markdown/",
        DrillReportMarkdownView.as_view(),
        name="drill-report-markdown",
    ),
    path("drills/trends/", DrillTrendsView.as_view(), name="drill-trends"),
    path("calendar-feed/", CalendarFeedView.as_view(), name="calendar-feed"),
    path(
        "calendar-feed/rotate/",
        CalendarFeedRotateView.as_view(),
        name="calendar-feed-rotate",
    ),
    *router.urls,
]

# Mounted at the site's root by config/urls.py: no login, the token is the secret.
ical_urlpatterns = [
    path("ical/schedules/<slug:token>.ics", ical.schedule_feed, name="ical-schedule"),
    path("ical/users/<slug:token>.ics", ical.user_feed, name="ical-user"),
]
