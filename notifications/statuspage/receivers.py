"""What the status page hears: posted updates, and changes to what it shows."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from incidents.models import Incident, MaintenanceWindow, Service, StatusUpdate
from incidents.signals import status_update_posted
from notifications.models import StatusPage
from notifications.statuspage.cache import invalidate
from notifications.statuspage.services import status_update_announce


def announce(sender: Any, *, update: StatusUpdate, **_: Any) -> None:
    """Tell public subscribers of a public update (the service checks it is
    one), in the transaction that posts it."""
    invalidate()
    status_update_announce(update_id=update.pk)


def connect() -> None:
    status_update_posted.connect(announce, dispatch_uid="statuspage.announce")
    for model in (Incident, StatusUpdate, Service, MaintenanceWindow, StatusPage):
        post_save.connect(invalidate, sender=model, dispatch_uid=f"sp.save.{model}")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"sp.del.{model}")
    m2m_changed.connect(
        invalidate,
        sender=Incident.affected_services.through,
        dispatch_uid="sp.m2m.affected",
    )
