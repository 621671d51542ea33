"""Every state change of the incident core goes through these services."""

from incidents.services.incident import (
    incident_acknowledge,
    incident_add_note,
    incident_assign_role,
    incident_change_severity,
    incident_create,
    incident_transition,
    incident_update,
)
from incidents.services.setup import (
    integration_create,
    service_create,
    severity_level_update,
    team_add_member,
    team_create,
)
from incidents.services.targets import incident_record_missed_targets

__all__ = [
    "incident_acknowledge",
    "incident_add_note",
    "incident_assign_role",
    "incident_change_severity",
    "incident_create",
    "incident_record_missed_targets",
    "incident_transition",
    "incident_update",
    "integration_create",
    "service_create",
    "severity_level_update",
    "team_add_member",
    "team_create",
]
