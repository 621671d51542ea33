from incidents.models.alerts import (
    Alert,
    AlertEvent,
    ChangeEvent,
    Integration,
    MaintenanceWindow,
)
from incidents.models.checklists import (
    ChecklistTick,
    IncidentVerificationItem,
    VerificationItem,
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
    "ChecklistTick",
    "Incident",
    "IncidentDaySequence",
    "IncidentRole",
    "IncidentVerificationItem",
    "Integration",
    "MaintenanceWindow",
    "RoleAssignment",
    "Service",
    "SeverityLevel",
    "SeverityLevelRevision",
    "Team",
    "TeamMembership",
    "TimelineEvent",
    "VerificationItem",
]
