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
    TimelineEvent,
)
from incidents.models.evidence import CustodyTransfer, EvidenceRecord
from incidents.models.quotas import AlertFlood, IngestQuotaKey, IngestQuotaWindow
from incidents.models.reviews import (
    ActionItem,
    ActionItemDigest,
    IncidentLink,
    PostIncidentReview,
    ReviewReminder,
    RootCauseTag,
)
from incidents.models.runbooks import (
    ExternalContact,
    IncidentRunbook,
    IncidentRunbookStep,
    Phase,
    Runbook,
    RunbookStep,
)
from incidents.models.setup import (
    Service,
    SeverityLevel,
    SeverityLevelRevision,
    Team,
    TeamMembership,
)
from incidents.models.status_updates import StatusUpdate

__all__ = [
    "ActionItem",
    "ActionItemDigest",
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
    "IncidentLink",
    "IncidentRole",
    "IncidentRunbook",
    "IncidentRunbookStep",
    "IncidentVerificationItem",
    "IngestQuotaKey",
    "IngestQuotaWindow",
    "Integration",
    "MaintenanceWindow",
    "Phase",
    "PostIncidentReview",
    "ReviewReminder",
    "RoleAssignment",
    "RootCauseTag",
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
