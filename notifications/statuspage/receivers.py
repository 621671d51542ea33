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
    """Tell public subscribers of a public update (the service checks that
    its incident is public too), in the transaction that posts it. An
    internal update announces nothing: it is not read again."""
    if may_show(update):
        invalidate()
        status_update_announce(update_id=update.pk)


def may_show(instance: Any) -> bool:
    """Whether a changed row may be on the page. A private incident or an
    internal update is not: a storm of private incidents (each with its
    internal updates) leaves the page's copies as they are, instead of
    starting a rebuild of every copy at every save. A row that has just
    stopped being public is seen by the copies' version check within the
    cache period."""
    if isinstance(instance, Incident):
        return bool(instance.is_public and not instance.is_drill)
    if isinstance(instance, StatusUpdate):
        return bool(instance.audience == StatusUpdate.Audience.PUBLIC)
    return True


def changed(sender: Any, *, instance: Any, **_: Any) -> None:
    if may_show(instance):
        invalidate()


def connect() -> None:
    status_update_posted.connect(announce, dispatch_uid="statuspage.announce")
    for model in (Incident, StatusUpdate, Service, MaintenanceWindow, StatusPage):
        post_save.connect(changed, sender=model, dispatch_uid=f"sp.save.{model}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"sp.del.{model}")
    m2m_changed.connect(
        changed,
        sender=Incident.affected_services.through,
        dispatch_uid="sp.m2m.affected",
    )
