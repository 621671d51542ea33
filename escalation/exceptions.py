"""Errors the escalation services raise; the API turns them into 400/409."""

from __future__ import annotations

from config.errors import VigilError


class EscalationError(VigilError):
    """A request about an incident's escalation that Vigil refuses."""

    status_code = 409
    code = "escalation"


class EscalationPolicyError(VigilError):
    """A policy, level or target Vigil refuses; `field` names what is wrong."""

    status_code = 400
    code = "escalation_policy"


class EscalationPolicyInUseError(EscalationPolicyError):
    """The policy is still needed (services use it, incidents climb it)."""

    status_code = 409
    code = "escalation_policy_in_use"


class ScheduleError(VigilError):
    """A change to an on-call schedule that Vigil refuses, with the reason."""


class ScheduleInUseError(ScheduleError):
    """The schedule cannot go: something (an escalation policy) still uses it."""

    status_code = 409
    code = "schedule_in_use"


class DrillError(VigilError):
    """A drill, scenario or drill schedule Vigil refuses; `field` says why."""

    code = "drill"


class DrillStateError(DrillError):
    """The drill is not in a state that allows this (it began, it ended)."""

    status_code = 409
    code = "drill_state"
