from django.contrib import admin
from django.urls import include, path, reverse_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

from escalation import urls as escalation_urls
from escalation.urls import ical_urlpatterns
from incidents import urls as incidents_urls
from incidents.ingest.formats import ingest_urls
from metrics.dashboard import dashboard, drills_dashboard
from metrics.views import prometheus_metrics
from notifications import respond
from notifications import urls as notifications_urls

# The API root lists the resources of every app's router, and the two
# resources that are views of their own, each by the URL name of its list.
api_root = APIRootView.as_view(
    api_root_dict={
        **{
            prefix: f"{basename}-list"
            for app_urls in (incidents_urls, notifications_urls, escalation_urls)
            for prefix, _, basename in app_urls.router.registry
            # not top-level: under another resource (/schedules/<id>/overrides/)
            # or a group (/drills/scenarios/, /drills/schedules/)
            if "(" not in prefix and "/" not in prefix
        },
        "reports": "user-report",
        "calendar-feed": "calendar-feed",
    }
)

# The admin is Vigil's console: its header names it, and "View site" opens
# the board of open incidents.
admin.site.site_header = "Vigil"
admin.site.site_title = "Vigil"
admin.site.index_title = "Incident response"
admin.site.site_url = reverse_lazy("admin:incidents_incident_board")  # type: ignore[assignment]

# A path parameter that does not fit its route (/schedules/0.5/) matches no
# URL at all; under /api/ that 404 is JSON too.
handler404 = "config.api.not_found"

urlpatterns = [
    path("admin/metrics/", admin.site.admin_view(dashboard), name="metrics-dashboard"),
    path(
        "admin/metrics/drills/",
        admin.site.admin_view(drills_dashboard),
        name="metrics-drills-dashboard",
    ),
    path("admin/", admin.site.urls),
    *ingest_urls(),
    path("respond/<str:token>/", respond.respond, name="respond"),
    path(
        "contact-test/<str:token>/",
        respond.contact_test_confirm,
        name="contact-test-confirm",
    ),
    path("metrics", prometheus_metrics, name="prometheus-metrics"),
    path("notifications/twilio/sms/", respond.twilio_sms, name="twilio-sms"),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("incidents.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("escalation.urls")),
    path("api/v1/", include("metrics.urls")),
    path("", include(ical_urlpatterns)),
    path("status/", include("notifications.statuspage.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own
    # (?script), which the Content-Security-Policy allows; an inline one not.
    path(
        "api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"
    ),
]
