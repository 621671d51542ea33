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
from incidents.models.quotas import AlertFlood, IngestQuotaKey, IngestQuotaWindow

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertFlood",
    "ChangeEvent",
    "ChecklistTick",
    "Incident",
    "IncidentDaySequence",
    "IncidentRole",
    "IncidentVerificationItem",
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
    "VerificationItem",
]
