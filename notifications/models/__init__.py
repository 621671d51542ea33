"""Notifications' rows: `core` (contact methods to the delivery log) and
`statuspage` (the public status page's branding and subscribers)."""

from notifications.models.core import (
    CHANNEL_KINDS,
    DEFAULT_RATE_LIMITS,
    URL_KINDS,
    ActionLink,
    Channel,
    ContactMethod,
    ContactTest,
    ContactTestRound,
    Delivery,
    Kind,
    MessageTemplate,
    NotificationRule,
    ReplyFailure,
    Subscription,
    Urgency,
    mask_address,
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
