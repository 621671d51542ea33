from rest_framework.routers import DefaultRouter

from notifications.apis import (
    ChannelViewSet,
    ContactMethodViewSet,
    DeliveryViewSet,
    NotificationRuleViewSet,
)

router = DefaultRouter()
router.register("contact-methods", ContactMethodViewSet, basename="contact-method")
router.register(
    "notification-rules", NotificationRuleViewSet, basename="notification-rule"
)
router.register("channels", ChannelViewSet, basename="channel")
router.register("deliveries", DeliveryViewSet, basename="delivery")

urlpatterns = router.urls
