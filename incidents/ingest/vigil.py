"""The events Vigil writes itself: heartbeats and user reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidents.ingest.signals import AlertSignal, IngestFormat

if TYPE_CHECKING:
    from incidents.models import AlertEvent


def _read(event: AlertEvent) -> list[AlertSignal]:
    body = event.payload
    return [
        AlertSignal(
            action=event.action,
            dedup_key=event.dedup_key,
            summary=str(body.get("summary", ""))[:1024],
            sender_severity=str(body.get("severity", "")),
            details=body,
            group_key=event.dedup_key,
        )
    ]


HEARTBEAT = IngestFormat(
    kind="heartbeat",
    routes=(
        ("ingest/heartbeat/", "incidents.ingest.views.heartbeat", "ingest-heartbeat"),
    ),
    read=_read,
)
USER_REPORT = IngestFormat(kind="user_report", routes=(), read=_read)
