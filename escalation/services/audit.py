"""Find escalations the engine let slip, and drive them again.

Overdue: an active escalation whose next step was due more than a grace ago
(no worker, a lost message, the sweep not running). Missing: a triggered
incident with no escalation at all (declared while the engine failed).
Driving one again is what the engine itself does, and as safe to repeat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalation.models import Escalation
from escalation.services.engine import escalation_fire_due, escalation_start
from incidents.models import Incident
from incidents.selectors import incident_triggered_list

logger = logging.getLogger(__name__)

GRACE = timedelta(seconds=10)
OVERDUE = "overdue"
MISSING = "missing"


@dataclass
class AuditRow:
    """One escalation that is late or missing, and what `fix` did about it."""

    incident: str
    problem: str
    state: str
    level: int | None
    next_level: int | None
    due_at: datetime
    overdue: timedelta
    action: str = ""


def _describe(escalation: Escalation) -> str:
    where = f"level {escalation.level}" if escalation.level else "no level yet"
    return f"{escalation.get_state_display().lower()}, {where}"


def _fire(escalation: Escalation, now: datetime) -> str:
    fired = escalation_fire_due(escalation_id=escalation.pk, now=now)
    escalation.refresh_from_db()
    return f"fired {fired} step{'s' if fired != 1 else ''}: {_describe(escalation)}"


def _start(incident: Incident, now: datetime) -> str:
    return f"started: {_describe(escalation_start(incident=incident, now=now))}"


def escalations_audit(
    *, now: datetime, fix: bool, grace: timedelta = GRACE
) -> list[AuditRow]:
    """Return the overdue and the missing escalations, most overdue first.

    With `fix`, fire what is due on each overdue one and start each missing
    one, each in its own transaction: one that fails is reported in its
    row's `action` and the others are still driven.
    """
    rows: list[tuple[AuditRow, Escalation | Incident]] = []
    overdue = Escalation.objects.filter(
        state=Escalation.State.ACTIVE, due_at__lt=now - grace
    ).select_related("incident")
    for escalation in overdue:
        due_at = escalation.due_at or now
        row = AuditRow(
            incident=escalation.incident.public_id,
            problem=OVERDUE,
            state=escalation.state,
            level=escalation.level,
            next_level=escalation.next_level,
            due_at=due_at,
            overdue=now - due_at,
        )
        rows.append((row, escalation))
    # Declared before `now - grace`: one declared this instant is still
    # inside the transaction that starts its escalation.
    missing = incident_triggered_list(declared_before=now - grace).filter(
        escalation__isnull=True
    )
    for incident in missing:
        row = AuditRow(
            incident=incident.public_id,
            problem=MISSING,
            state="",
            level=None,
            next_level=None,
            due_at=incident.created_at,
            overdue=now - incident.created_at,
        )
        rows.append((row, incident))
    rows.sort(key=lambda pair: (-pair[0].overdue, pair[0].incident))
    if fix:
        for row, subject in rows:
            try:
                if isinstance(subject, Escalation):
                    row.action = _fire(subject, now)
                else:
                    row.action = _start(subject, now)
            except Exception as error:  # report it, and drive the others
                logger.exception("escalation audit: %s failed", row.incident)
                row.action = f"failed: {error}"
    return [row for row, _ in rows]
