"""Notifications' rows: `contacts` (contact methods, rules, channels,
subscriptions, contact-method tests), `deliveries` (templates, the delivery
log, action links) and `statuspage` (the public status page's branding and
subscribers)."""

from notifications.models.contacts import (
    CHANNEL_KINDS,
    DEFAULT_RATE_LIMITS,
    URL_KINDS,
    Channel,
    ContactMethod,
    ContactTest,
    ContactTestRound,
    Kind,
    NotificationRule,
    Subscription,
    Urgency,
    mask_address,
)
from notifications.models.deliveries import (
    ActionLink,
    Delivery,
    MessageTemplate,
    ReplyFailure,
)
from notifications.models.statuspage import (
    COLOR,
    PUBLIC_KINDS,
    PublicSubscriber,
    SignupAttempt,
    StatusPage,
)

__all__ = [
    "CHANNEL_KINDS",
    "COLOR",
    "DEFAULT_RATE_LIMITS",
    "PUBLIC_KINDS",
    "URL_KINDS",
    "ActionLink",
    "Channel",
    "ContactMethod",
    "ContactTest",
    "ContactTestRound",
    "Delivery",
    "Kind",
    "MessageTemplate",
    "NotificationRule",
    "PublicSubscriber",
    "ReplyFailure",
    "SignupAttempt",
    "StatusPage",
    "Subscription",
    "Urgency",
    "mask_address",
]
