from rest_framework.routers import DefaultRouter

from incidents.apis import (
    IncidentViewSet,
    ServiceViewSet,
    SeverityLevelViewSet,
    TeamViewSet,
)

router = DefaultRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("services", ServiceViewSet, basename="service")
router.register("teams", TeamViewSet, basename="team")
router.register("severities", SeverityLevelViewSet, basename="severity")

urlpatterns = router.urls
