from incidents.models.alerts import (
    Alert,
    AlertEvent,
    ChangeEvent,
    Integration,
    MaintenanceWindow,
)
from incidents.models.core import (
    Incident,
    IncidentDaySequence,
    IncidentRole,
    RoleAssignment,
    Service,
    SeverityLevel,
    SeverityLevelRevision,
    Team,
    TeamMembership,
    TimelineEvent,
)
from incidents.models.quotas import AlertFlood, IngestQuotaKey, IngestQuotaWindow

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertFlood",
    "ChangeEvent",
    "Incident",
    "IncidentDaySequence",
    "IncidentRole",
    "IngestQuotaKey",
    "IngestQuotaWindow",
    "Integration",
    "MaintenanceWindow",
    "RoleAssignment",
    "Service",
    "SeverityLevel",
    "SeverityLevelRevision",
    "Team",
    "TeamMembership",
    "TimelineEvent",
]
