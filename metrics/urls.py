from django.urls import path

from metrics import apis

urlpatterns = [
    path(
        "metrics/response-times/",
        apis.ResponseTimesView.as_view(),
        name="metrics-response-times",
    ),
    path("metrics/sla/", apis.SlaView.as_view(), name="metrics-sla"),
    path(
        "metrics/sla/breaches/",
        apis.SlaBreachesView.as_view(),
        name="metrics-sla-breaches",
    ),
    path("metrics/kpis/", apis.KpisView.as_view(), name="metrics-kpis"),
    path(
        "metrics/availability/",
        apis.AvailabilityView.as_view(),
        name="metrics-availability",
    ),
]
