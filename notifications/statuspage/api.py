"""The status page's machine endpoints, in Atlassian Statuspage's v2 shapes.

`/status/api/v2/summary.json`, `status.json`, `incidents.json` and
`scheduled-maintenances.json` answer with the field names and value sets of
Statuspage's public API, so that existing clients and widgets read them.
Public services are its components, public incidents its incidents, and
maintenance windows of public services its scheduled maintenances.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from notifications.statuspage.selectors import (
    LISTED,
    Component,
    PublicIncident,
    PublicMaintenance,
    Snapshot,
    public_key,
)

JSON = "application/json"


def _at(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def page_url() -> str:
    return settings.VIGIL_BASE_URL + reverse("statuspage:page")


def page_id() -> str:
    return public_key("page", 1)


def _page(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": page_id(),
        "name": snapshot.page.name,
        "url": page_url(),
        "time_zone": settings.TIME_ZONE,
        "updated_at": _at(snapshot.updated_at),
    }


def _component(component: Component, snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": component.id,
        "name": component.name,
        "status": component.status,
        "created_at": _at(snapshot.history_start),
        "updated_at": _at(snapshot.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": page_id(),
        "group": False,
        "only_show_if_degraded": False,
    }


def _affected(component: Component) -> dict[str, Any]:
    return {"code": component.id, "name": component.name}


def _incident(incident: PublicIncident, snapshot: Snapshot) -> dict[str, Any]:
    updates = [
        {
            "id": update.id,
            "status": update.status,
            "body": update.body,
            "incident_id": incident.id,
            "created_at": _at(update.created_at),
            "updated_at": _at(update.created_at),
            "display_at": _at(update.created_at),
            "affected_components": [_affected(c) for c in incident.components],
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        }
        for update in incident.updates
    ]
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": _at(incident.created_at),
        "updated_at": _at(incident.updated_at),
        "monitoring_at": _at(incident.monitoring_at),
        "resolved_at": _at(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": f"{page_url()}#incident-{incident.id}",
        "started_at": _at(incident.started_at),
        "page_id": page_id(),
        "incident_updates": updates,
        "components": [_component(c, snapshot) for c in incident.components],
    }


def _maintenance(window: PublicMaintenance, snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": window.id,
        "name": window.name,
        "status": window.status,
        "created_at": _at(window.scheduled_for),
        "updated_at": _at(window.scheduled_for),
        "monitoring_at": None,
        "resolved_at": _at(window.scheduled_until)
        if window.status == "completed"
        else None,
        "impact": "maintenance",
        "shortlink": f"{page_url()}#maintenance-{window.id}",
        "started_at": _at(window.scheduled_for),
        "page_id": page_id(),
        "incident_updates": [],
        "components": [_component(c, snapshot) for c in window.components],
        "scheduled_for": _at(window.scheduled_for),
        "scheduled_until": _at(window.scheduled_until),
    }


def _status(snapshot: Snapshot) -> dict[str, str]:
    return {"indicator": snapshot.indicator, "description": snapshot.description}


def _dump(value: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(value, ensure_ascii=False).encode(), JSON


def summary_json(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return summary.json: components, open incidents, active maintenance."""
    return _dump(
        {
            "page": _page(snapshot),
            "components": [_component(c, snapshot) for c in snapshot.components],
            "incidents": [_incident(i, snapshot) for i in snapshot.open_incidents],
            "scheduled_maintenances": [
                _maintenance(m, snapshot) for m in snapshot.active_maintenances
            ],
            "status": _status(snapshot),
        }
    )


def status_json(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return status.json: the page's indicator and its description."""
    return _dump({"page": _page(snapshot), "status": _status(snapshot)})


def incidents_json(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return incidents.json: the 50 most recent public incidents."""
    return _dump(
        {
            "page": _page(snapshot),
            "incidents": [_incident(i, snapshot) for i in snapshot.incidents[:LISTED]],
        }
    )


def scheduled_maintenances_json(snapshot: Snapshot) -> tuple[bytes, str]:
    """Return scheduled-maintenances.json: the 50 most recent windows."""
    latest = sorted(snapshot.maintenances, key=lambda m: m.scheduled_for)
    return _dump(
        {
            "page": _page(snapshot),
            "scheduled_maintenances": [
                _maintenance(m, snapshot) for m in reversed(latest[-LISTED:])
            ],
        }
    )
