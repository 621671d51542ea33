from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from escalation.urls import ical_urlpatterns
from incidents.apis import respond
from incidents.ingest import views as ingest

# A path parameter that does not fit its route (/schedules/0.5/) matches no
# URL at all; under /api/ that 404 is JSON too.
handler404 = "config.api.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v2/enqueue", ingest.pagerduty_enqueue, name="ingest-pagerduty"),
    path("v2/change/enqueue", ingest.pagerduty_change, name="ingest-pagerduty-change"),
    path(
        "ingest/alertmanager/", ingest.alertmanager_webhook, name="ingest-alertmanager"
    ),
    path("ingest/generic/", ingest.generic_webhook, name="ingest-generic"),
    path("ingest/heartbeat/", ingest.heartbeat, name="ingest-heartbeat"),
    path("respond/<str:token>/", respond.respond, name="respond"),
    path("notifications/twilio/sms/", respond.twilio_sms, name="twilio-sms"),
    path("api/v1/", include("incidents.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("escalation.urls")),
    path("", include(ical_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
