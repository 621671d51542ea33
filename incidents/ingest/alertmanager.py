"""Prometheus Alertmanager webhook (version 4): one group, many alerts."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from incidents.ingest.signals import (
    RESOLVE,
    TRIGGER,
    AlertSignal,
    IngestFormat,
    InvalidEvent,
    parse_instant,
)

if TYPE_CHECKING:
    from incidents.models import AlertEvent

DEFAULT_MAPPING = {
    "critical": "P1",
    "page": "P1",
    "error": "P2",
    "warning": "P2",
    "info": "P3",
}
_ZERO_TIME = "0001-01-01T00:00:00Z"


def group_hash(group_key: str) -> str:
    """Return the sha256 of a group key, as Alertmanager's PagerDuty notifier does."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _summary(alert: dict[str, Any]) -> str:
    annotations = alert.get("annotations") or {}
    labels = alert["labels"]
    text = annotations.get("summary") or annotations.get("description")
    if not text:
        name = labels.get("alertname", "Alert")
        where = labels.get("instance") or labels.get("job") or ""
        text = f"{name} {where}".strip()
    return str(text)[:1024]


def _fingerprint(alert: dict[str, Any]) -> str:
    fingerprint = alert.get("fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint[:255]
    labels = sorted(alert["labels"].items())
    return hashlib.sha256(repr(labels).encode()).hexdigest()[:16]


def parse_webhook(body: dict[str, Any]) -> list[AlertSignal]:
    """Return one signal per alert of the webhook body, or raise InvalidEvent."""
    errors: list[str] = []
    if body.get("version") != "4":
        errors.append("'version' must be \"4\"")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        errors.append("'groupKey' is missing or blank")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        errors.append("'alerts' must be a non-empty array")
        alerts = []
    for index, alert in enumerate(alerts):
        where = f"'alerts[{index}]"
        if not isinstance(alert, dict):
            errors.append(f"{where}' must be an object")
            continue
        if alert.get("status") not in ("firing", "resolved"):
            errors.append(f"{where}.status' must be firing or resolved")
        if not _strings(alert.get("labels")):
            errors.append(f"{where}.labels' must be an object of strings")
        if alert.get("annotations") is not None and not _strings(alert["annotations"]):
            errors.append(f"{where}.annotations' must be an object of strings")
        for name in ("startsAt", "endsAt"):
            if alert.get(name) is not None and parse_instant(alert[name]) is None:
                errors.append(f"{where}.{name}' must be an RFC 3339 date-time")
    if errors:
        raise InvalidEvent(errors, message="Webhook body is invalid")
    assert isinstance(group_key, str)  # noqa: S101 - checked above
    return [
        AlertSignal(
            action=TRIGGER if alert["status"] == "firing" else RESOLVE,
            dedup_key=_fingerprint(alert),
            summary=_summary(alert),
            sender_severity=alert["labels"].get("severity", ""),
            labels=alert["labels"],
            details={
                "labels": alert["labels"],
                "annotations": alert.get("annotations") or {},
                "generatorURL": alert.get("generatorURL", ""),
                "groupKey": group_key,
                "externalURL": body.get("externalURL", ""),
            },
            group_key=group_key,
            occurred_at=parse_instant(alert.get("startsAt")),
        )
        for alert in alerts
    ]


def _read(event: AlertEvent) -> list[AlertSignal]:
    return parse_webhook(event.payload)


FORMAT = IngestFormat(
    kind="alertmanager",
    routes=(
        (
            "ingest/alertmanager/",
            "incidents.ingest.views.alertmanager_webhook",
            "ingest-alertmanager",
        ),
    ),
    read=_read,
    severity_mapping=DEFAULT_MAPPING,
)
