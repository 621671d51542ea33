"""The escalation's part of the responders' war room (the incident admin's
page): where paging stands in its header, and its two buttons, escalate now
and page a responder to join. Each button is one escalation service call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.http import HttpRequest

from escalation.models import Escalation, EscalationStep
from escalation.selectors import escalation_get, escalation_standing
from escalation.services import escalation_add_responder, escalation_escalate
from incidents.admin.warroom import war_room_act_add, war_room_member, war_room_reason
from incidents.console import console_paging_set, user_name
from incidents.models import Incident


@dataclass(frozen=True)
class Paging:
    """Where the escalation stands, said plainly."""

    state: str
    level: int
    next_page: datetime | None
    nobody_paged: bool
    escalation: Escalation | None


def paging(incident: Incident) -> Paging:
    escalation = escalation_get(incident=incident)
    if escalation is None:
        return Paging("not started", 0, None, True, None)
    paged = any(
        step.outcome == EscalationStep.Outcome.PAGED for step in escalation.steps.all()
    )
    due = escalation.due_at if escalation.state == Escalation.State.ACTIVE else None
    return Paging(
        escalation_standing(escalation=escalation),
        escalation.level,
        due,
        not paged,
        escalation,
    )


def _escalate(request: HttpRequest, incident: Incident, by: User) -> str:
    step = escalation_escalate(incident=incident, by=by)
    return f"Escalated to level {step.level}: paged {', '.join(step.users) or 'nobody'}"


def _responder(request: HttpRequest, incident: Incident, by: User) -> str:
    user = war_room_member(request, incident)
    escalation_add_responder(
        incident=incident, user=user, by=by, reason=war_room_reason(request)
    )
    return f"Paged {user_name(user)} to join"


console_paging_set(paging)
war_room_act_add("escalate", _escalate)
war_room_act_add("responder", _responder)
