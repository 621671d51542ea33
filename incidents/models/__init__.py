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
from incidents.models.evidence import CustodyTransfer, EvidenceRecord
from incidents.models.quotas import AlertFlood, IngestQuotaKey, IngestQuotaWindow
from incidents.models.runbooks import (
    ExternalContact,
    IncidentRunbook,
    IncidentRunbookStep,
    Phase,
    Runbook,
    RunbookStep,
)
from incidents.models.status_updates import StatusUpdate

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertFlood",
    "ChangeEvent",
    "ChecklistTick",
    "CustodyTransfer",
    "EvidenceRecord",
    "ExternalContact",
    "Incident",
    "IncidentDaySequence",
    "IncidentRole",
    "IncidentRunbook",
    "IncidentRunbookStep",
    "IncidentVerificationItem",
    "IngestQuotaKey",
    "IngestQuotaWindow",
    "Integration",
    "MaintenanceWindow",
    "Phase",
    "RoleAssignment",
    "Runbook",
    "RunbookStep",
    "Service",
    "SeverityLevel",
    "SeverityLevelRevision",
    "StatusUpdate",
    "Team",
    "TeamMembership",
    "TimelineEvent",
    "VerificationItem",
]
