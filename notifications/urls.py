from rest_framework.routers import SimpleRouter

from notifications.apis import (
    ChannelViewSet,
    ContactMethodViewSet,
    DeliveryViewSet,
    NotificationRuleViewSet,
    SubscriptionViewSet,
)

# No API root of its own: config/urls.py lists every app's resources in one.
router = SimpleRouter()
router.register("contact-methods", ContactMethodViewSet, basename="contact-method")
router.register(
    "notification-rules", NotificationRuleViewSet, basename="notification-rule"
)
router.register("channels", ChannelViewSet, basename="channel")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = router.urls
