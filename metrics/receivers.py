"""Keep the rollups true: a change to an incident, or to its status updates
(which decide its cadence counts), marks its day dirty, in the transaction
of the change; an incident's change also marks the days after it on which
an incident may repeat it."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from incidents.metrics_sla import REPEAT_WINDOW
from metrics.services import rollup_day_mark

INCIDENT = "incidents.Incident"
STATUS_UPDATE = "incidents.StatusUpdate"


def incident_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    rollup_day_mark(
        detected_at=instance.detected_at, now=timezone.now(), reach=REPEAT_WINDOW
    )


def status_update_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    rollup_day_mark(detected_at=instance.incident.detected_at, now=timezone.now())


def connect() -> None:
    post_save.connect(incident_changed, sender=INCIDENT, dispatch_uid="rollup-save")
    post_delete.connect(incident_changed, sender=INCIDENT, dispatch_uid="rollup-delete")
    for signal, uid in ((post_save, "save"), (post_delete, "delete")):
        signal.connect(
            status_update_changed,
            sender=STATUS_UPDATE,
            dispatch_uid=f"rollup-update-{uid}",
        )
