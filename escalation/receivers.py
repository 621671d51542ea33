"""What escalation does when the incident core tells it something: start,
stop, restart and re-page the climb, and keep on-call people in their team."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from escalation.selectors import team_member_duties
from escalation.services import (
    escalation_renotify,
    escalation_severity_raised,
    escalation_start,
    escalation_status_changed,
)
from incidents.exceptions import IncidentError
from incidents.models import Alert, Incident, Team
from incidents.signals import (
    alert_attached,
    incident_declared,
    incident_severity_raised,
    incident_status_changed,
    team_member_leaving,
)


def start(sender: Any, *, incident: Incident, **_: Any) -> None:
    escalation_start(incident=incident)


def status_changed(
    sender: Any, *, incident: Incident, before: str, by: User | None, **_: Any
) -> None:
    escalation_status_changed(incident=incident, before=before, by=by)


def severity_raised(sender: Any, *, incident: Incident, **_: Any) -> None:
    escalation_severity_raised(incident=incident)


def renotify(sender: Any, *, incident: Incident, alert: Alert, **_: Any) -> None:
    escalation_renotify(incident=incident, alert=alert)


def refuse_leaving_while_on_call(
    sender: Any, *, team: Team, user: User, **_: Any
) -> None:
    """Refuse while `team`'s on call still names `user`: their turns in its
    rotations, overrides not yet over and its policies' user targets would
    go on paging them for a team they left."""
    duties = team_member_duties(team=team, user=user, now=timezone.now())
    if duties:
        raise IncidentError(
            f"{user.get_username()} is still on call for {team}: "
            f"{'; '.join(duties)}. Take them out of these first.",
            field="user",
        )


def connect() -> None:
    incident_declared.connect(start, dispatch_uid="escalation.start")
    incident_status_changed.connect(
        status_changed, dispatch_uid="escalation.status_changed"
    )
    incident_severity_raised.connect(
        severity_raised, dispatch_uid="escalation.severity_raised"
    )
    alert_attached.connect(renotify, dispatch_uid="escalation.renotify")
    team_member_leaving.connect(
        refuse_leaving_while_on_call, dispatch_uid="escalation.on_call_member"
    )
