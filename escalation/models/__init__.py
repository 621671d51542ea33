from escalation.models.drills import (
    Drill,
    DrillMode,
    DrillScenario,
    DrillSchedule,
)
from escalation.models.policies import (
    ACK_TIMEOUT_RANGE,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
)
from escalation.models.reminders import UpdateReminder
from escalation.models.schedules import (
    CalendarFeed,
    Layer,
    LayerMember,
    Override,
    Restriction,
    Schedule,
    ShiftUnit,
    Weekday,
)

__all__ = [
    "ACK_TIMEOUT_RANGE",
    "CalendarFeed",
    "Drill",
    "DrillMode",
    "DrillScenario",
    "DrillSchedule",
    "Escalation",
    "EscalationLevel",
    "EscalationPolicy",
    "EscalationStep",
    "EscalationTarget",
    "Layer",
    "LayerMember",
    "Override",
    "Restriction",
    "Schedule",
    "ShiftUnit",
    "UpdateReminder",
    "Weekday",
]
