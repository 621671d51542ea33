from escalation.models.policies import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
)
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
    "CalendarFeed",
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
    "Weekday",
]
