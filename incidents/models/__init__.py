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

__all__ = [
    "Alert",
    "AlertEvent",
    "ChangeEvent",
    "Incident",
    "IncidentDaySequence",
    "IncidentRole",
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
