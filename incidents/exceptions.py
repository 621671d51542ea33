"""Errors the incident services raise; the API turns them into 400/409."""

from __future__ import annotations

from config.errors import VigilError


class IncidentError(VigilError):
    """A request the incident core refuses, with a message for the user."""


class IllegalTransitionError(IncidentError):
    """The incident cannot move from its current status to the one asked."""

    status_code = 409
    code = "illegal_transition"


class InvalidAssigneeError(IncidentError):
    """The user cannot hold a role on this incident."""

    code = "invalid_assignee"


class EventStateError(IncidentError):
    """The received event's status does not allow this."""

    status_code = 409
    code = "event_state"


class EventFailedError(Exception):
    """A received event failed to apply and waits, pending, for another try."""


class TimelineAppendOnlyError(Exception):
    """Someone tried to change or delete a timeline event."""


class IngestQuotaExceededError(IncidentError):
    """An integration opened more new alerts this minute than its quota."""

    status_code = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class VerificationIncompleteError(IncidentError):
    """The severity needs its verification checklist done before resolving."""

    status_code = 409
    code = "verification_incomplete"


class OverrideRefusedError(IncidentError):
    """Only the incident commander or a team lead may skip verification."""

    status_code = 403
    code = "override_refused"


class ChecklistStateError(IncidentError):
    """The incident's status or the item does not allow this tick."""

    status_code = 409
    code = "checklist_state"


class RunbookError(IncidentError):
    """A runbook, external contact or checklist change that is refused."""


class RunbookStepStateError(RunbookError):
    """The checklist step's state, or its incident's, does not allow this."""

    status_code = 409
    code = "runbook_step_state"


class StatusUpdateStateError(IncidentError):
    """The incident's status allows no status update (closed or cancelled)."""

    status_code = 409
    code = "status_update_state"


class EvidenceAppendOnlyError(Exception):
    """Someone tried to change or delete an evidence or custody record."""


class PhaseOrderError(RunbookError):
    """A later phase's step was ticked before the earlier phases were done."""

    status_code = 409
    code = "phase_order"


class RestrictedIncidentError(IncidentError):
    """The incident's details are restricted to its named responders."""

    status_code = 403
    code = "restricted"


class ReviewError(IncidentError):
    """A post-incident review or action item change that is refused."""


class ReviewStateError(ReviewError):
    """The review's state does not allow this (or keeps the incident open)."""

    status_code = 409
    code = "review_state"


class WaiveRefusedError(ReviewError):
    """Only the incident commander or a team lead may waive a review."""

    status_code = 403
    code = "waive_refused"
