"""The metrics app's only writes: worker heartbeats."""

from __future__ import annotations

from datetime import datetime

from metrics.models import WorkerHeartbeat


def worker_heartbeat_record(*, worker: str, now: datetime) -> str:
    """Record that `worker` is alive at `now` (later times only); return it."""
    heartbeat, created = WorkerHeartbeat.objects.get_or_create(
        worker=worker, defaults={"seen_at": now}
    )
    if not created:
        WorkerHeartbeat.objects.filter(worker=worker, seen_at__lt=now).update(
            seen_at=now
        )
    return heartbeat.worker
