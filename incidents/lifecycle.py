"""The incident lifecycle: which status may follow which."""

from __future__ import annotations

from incidents.models import Incident

S = Incident.Status

# Working states may move forwards (skipping steps) and back again, e.g.
# monitoring → investigating when a fix does not hold. Acknowledged →
# triggered is an un-acknowledge; resolved → investigating reopens.
_WORKING = (S.INVESTIGATING, S.IDENTIFIED, S.MITIGATING, S.MONITORING)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.TRIGGERED: (S.ACKNOWLEDGED, *_WORKING, S.RESOLVED, S.CANCELLED),
    S.ACKNOWLEDGED: (S.TRIGGERED, *_WORKING, S.RESOLVED, S.CANCELLED),
    S.INVESTIGATING: (
        S.IDENTIFIED,
        S.MITIGATING,
        S.MONITORING,
        S.RESOLVED,
        S.CANCELLED,
    ),
    S.IDENTIFIED: (
        S.INVESTIGATING,
        S.MITIGATING,
        S.MONITORING,
        S.RESOLVED,
        S.CANCELLED,
    ),
    S.MITIGATING: (
        S.INVESTIGATING,
        S.IDENTIFIED,
        S.MONITORING,
        S.RESOLVED,
        S.CANCELLED,
    ),
    S.MONITORING: (S.INVESTIGATING, S.IDENTIFIED, S.MITIGATING, S.RESOLVED),
    S.RESOLVED: (S.CLOSED, S.INVESTIGATING),
    S.CLOSED: (),
    S.CANCELLED: (),
}

OPEN_STATUSES: tuple[str, ...] = (S.TRIGGERED, S.ACKNOWLEDGED, *_WORKING)

# Statuses in which someone is working on the incident: reaching one sets
# acknowledged_at if it was not set yet. Resolving straight from triggered
# does not: nobody acknowledged, and MTTA must not pretend otherwise.
ACKNOWLEDGING = (S.ACKNOWLEDGED, *_WORKING)


def allowed_next(status: str) -> tuple[str, ...]:
    """Return the statuses an incident in `status` may move to."""
    return TRANSITIONS[status]
