"""Errors the notification services raise; the API turns them into 400/409."""

from __future__ import annotations

from config.errors import VigilError


class NotificationError(VigilError):
    """A request the notifications app refuses, with a message for the user."""


class ActionLinkError(NotificationError):
    """An acknowledge/resolve link or SMS code is unknown, expired or used."""

    status_code = 410
    code = "link_unusable"


class DeliveryStateError(NotificationError):
    """The delivery's status does not allow this."""

    status_code = 409
    code = "delivery_state"


class NotificationLimitError(NotificationError):
    """The user has sent as many verification codes as allowed for now."""

    status_code = 429
    code = "limit_reached"
