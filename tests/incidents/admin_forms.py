"""The incident's admin change form, filled as a browser posts it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from incidents.models import Incident

CHANGE = "/admin/incidents/incident/{}/change/"


def admin_form(client: Client, incident: Incident, **changes: object) -> dict[str, Any]:
    """Return the change form's current values, with `changes` applied."""
    page = client.get(CHANGE.format(incident.pk))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.pop("started_at", None)
    data.update(
        {
            "started_at_0": incident.started_at.strftime("%Y-%m-%d"),
            "started_at_1": incident.started_at.strftime("%H:%M:%S"),
            "affected_services": [],
            "named_responders": [],
        }
    )
    for prefix, total in (
        ("role_assignments", 0),
        ("timeline", incident.timeline.count()),
        ("alert_events", 0),
        ("deliveries", incident.deliveries.count()),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(total)
        data[f"{prefix}-INITIAL_FORMS"] = str(total)
    data.update(changes)
    return data
