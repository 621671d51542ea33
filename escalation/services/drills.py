"""Drills: start one, begin it when due (or postpone it), follow it to its end.

One function starts a drill by hand (`drill_start`: the command, the API,
the admin actions); scheduled slots are recorded by drill_schedules.py.
Either way the drill row is written first and `drill_begin` fires its
scenario's alert through Vigil's own ingest (stored as the ingest
endpoint of its format stores it) by the service's drill integration, whose
incidents are drills from their declaration: routing, grouping,
escalation and every page run for real, saying [DRILL].

No drill begins while a real (not drill) P0 or P1 of its team is open: it
is postponed, with the reason on the row, and the drills sweep tries again
`VIGIL_DRILL_POSTPONE_MINUTES` later. The sweep also links each running
drill to the incident its alert declared, completes it when the incident
is resolved (or closed), and, once its time box has run out, cancels the
incident through the incidents service (the reason on its timeline) and
records it timed out: a cancelled drill incident is "not completed".
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalation.exceptions import DrillError, DrillStateError
from escalation.models import Drill, DrillMode, DrillScenario
from escalation.timeline_kinds import DRILL_STARTED
from incidents.formatting import human_duration, when
from incidents.lifecycle import allowed_next
from incidents.models import Incident, Service, Team
from incidents.selectors import team_first_service, team_major_incident_open
from incidents.services import (
    alert_body_errors,
    drill_alert_record,
    drill_integration_get,
    incident_transition,
    incident_update,
)
from incidents.services.timeline import timeline_event_record

logger = logging.getLogger(__name__)

State = Drill.State
S = Incident.Status
WAITING = (State.SCHEDULED, State.POSTPONED)
VIA = "drill"


def drill_scenario_check(*, scenario: DrillScenario) -> None:
    """Raise DrillError unless the scenario's alert is one its format takes."""
    errors = alert_body_errors(kind=scenario.alert_format, body=scenario.alert)
    if errors:
        raise DrillError(
            f"the alert is not a valid {scenario.get_alert_format_display()} "
            f"body: {'; '.join(errors)}",
            field="alert",
            errors=errors,
        )
    unknown = set(scenario.expected) - set(DrillScenario.Expectation.values)
    if not isinstance(scenario.expected, list) or unknown:
        raise DrillError(
            "expected must list some of: "
            + ", ".join(DrillScenario.Expectation.values),
            field="expected",
        )
    if scenario.time_box <= timedelta(0):
        raise DrillError("the time box must be longer than nothing", field="time_box")


def drill_scenario_save(*, scenario: DrillScenario) -> DrillScenario:
    """Check and save a scenario (new or changed)."""
    drill_scenario_check(scenario=scenario)
    others = DrillScenario.objects.exclude(pk=scenario.pk)
    for field in ("slug", "name"):
        if others.filter(**{field: getattr(scenario, field)}).exists():
            raise DrillError(
                f"another scenario has the {field} {getattr(scenario, field)!r}",
                field=field,
            )
    scenario.save()
    return scenario


def drill_scenario_create(**fields: Any) -> DrillScenario:
    """Add a scenario to the library (its alert checked)."""
    return drill_scenario_save(scenario=DrillScenario(**fields))


@transaction.atomic
def drill_scenario_update(*, scenario: DrillScenario, **changes: Any) -> DrillScenario:
    """Change a scenario of the library (its alert checked)."""
    scenario = DrillScenario.objects.select_for_update().get(pk=scenario.pk)
    for field, value in changes.items():
        setattr(scenario, field, value)
    return drill_scenario_save(scenario=scenario)


def drill_service(
    *, scenario: DrillScenario, team: Team, service: Service | None = None
) -> Service:
    """Return the service a drill of `scenario` alerts on for `team`: the one
    asked for, else the scenario's if it is the team's, else the team's first."""
    service = service or (
        scenario.service
        if scenario.service is not None and scenario.service.team_id == team.pk
        else team_first_service(team=team)
    )
    if service is None:
        raise DrillError(f"team {team} has no service to alert on", field="team")
    if service.team_id != team.pk:
        raise DrillError(
            f"service {service.slug} is not team {team}'s", field="service"
        )
    return service


def drill_start(
    *,
    scenario: DrillScenario,
    team: Team,
    service: Service | None = None,
    mode: str = DrillMode.NORMAL,
    by: User | None = None,
    now: datetime | None = None,
) -> Drill:
    """Start a drill of `scenario` for `team` now, or postpone it (blackout).

    The one way a drill is started by hand: `manage.py run_drill`,
    `POST /api/v1/drills/` and the admin actions.
    """
    if mode not in DrillMode.values:
        raise DrillError(f"{mode!r} is not a drill mode", field="mode")
    now = now or timezone.now()
    with transaction.atomic():
        drill = Drill.objects.create(
            scenario=scenario,
            team=team,
            service=drill_service(scenario=scenario, team=team, service=service),
            mode=mode,
            due_at=now,
            started_by=by,
        )
        drill_begin(drill_id=drill.pk, now=now)
    drill.refresh_from_db()
    return drill


def drill_alert_body(*, drill: Drill) -> dict[str, Any]:
    """Return the scenario's alert as this drill sends it.

    Its keys are the drill's own, so that it never deduplicates into or
    groups with another drill's alert, and it names the scenario's severity
    (`vigil_severity`, which wins over any mapping).
    """
    scenario = drill.scenario
    body: dict[str, Any] = copy.deepcopy(scenario.alert)
    tag = f"drill-{drill.pk}"
    if scenario.alert_format == DrillScenario.Format.PAGERDUTY:
        body["dedup_key"] = tag
        payload = body.setdefault("payload", {})
        details = payload.get("custom_details")
        payload["custom_details"] = {
            **(details if isinstance(details, dict) else {}),
            "vigil_severity": scenario.severity_id,
            "drill": str(drill.pk),
        }
        return body
    body["groupKey"] = f"{tag}:{body.get('groupKey', '')}"
    for index, alert in enumerate(body.get("alerts", [])):
        alert["fingerprint"] = f"{tag}-{index}"
        alert["labels"] = {
            **alert.get("labels", {}),
            "vigil_severity": scenario.severity_id,
        }
    return body


@transaction.atomic
def drill_begin(*, drill_id: int, now: datetime | None = None) -> bool:
    """Begin the waiting drill if it is due: fire its alert, or postpone it.

    Claimed under the drill's row lock, re-read: a drill begins once,
    whatever calls this (the slot's task, the sweep, a copy of either).
    Return whether it began.
    """
    now = now or timezone.now()
    drill = (
        Drill.objects.select_for_update(of=("self",))
        .select_related("scenario", "team", "service")
        .filter(pk=drill_id, state__in=WAITING, due_at__lte=now)
        .first()
    )
    if drill is None:
        return False
    real = team_major_incident_open(team=drill.team)
    if real is not None:
        retry = now + timedelta(minutes=settings.VIGIL_DRILL_POSTPONE_MINUTES)
        drill.state = State.POSTPONED
        drill.due_at = retry
        drill.reason = (
            f"Postponed: real incident {real.public_id} ({real.severity_id}) is "
            f"open for {drill.team}; tried again at {when(retry)}"
        )
        drill.save(update_fields=["state", "due_at", "reason"])
        return False
    integration = drill_integration_get(
        service=drill.service, kind=drill.scenario.alert_format
    )
    drill.alert_event = drill_alert_record(
        integration=integration, body=drill_alert_body(drill=drill)
    )
    drill.state = State.RUNNING
    drill.started_at = now
    drill.ends_at = now + drill.scenario.time_box
    drill.reason = ""
    drill.save()
    return True


def _link(drill: Drill) -> Incident | None:
    """Return the drill's incident, recording it (and the scenario's
    category, which attaches its runbooks) the first time it is seen."""
    if drill.incident is not None:
        return drill.incident
    event = drill.alert_event
    incident = event.incident if event is not None else None
    if incident is None:
        return None  # not processed yet, or suppressed
    drill.incident = incident
    drill.save(update_fields=["incident"])
    timeline_event_record(
        incident=incident,
        kind=DRILL_STARTED,
        message=f"[DRILL] Drill {drill.pk}: scenario {drill.scenario}, "
        f"{drill.get_mode_display().lower()}; its time box ends at "
        f"{when(drill.ends_at)}",
        by=drill.started_by,
        via=VIA,
        data={
            "drill": drill.pk,
            "scenario": drill.scenario.slug,
            "mode": drill.mode,
            "ends_at": drill.ends_at.isoformat() if drill.ends_at else None,
        },
    )
    if incident.category != drill.scenario.category:
        incident = incident_update(
            incident=incident, by=None, via=VIA, category=drill.scenario.category
        )
    return incident


def _finish(drill: Drill, state: str, reason: str, now: datetime) -> None:
    drill.state = state
    drill.reason = reason
    drill.finished_at = now
    drill.save(update_fields=["state", "reason", "finished_at"])


def _time_out(drill: Drill, incident: Incident | None, now: datetime) -> None:
    box = human_duration(drill.scenario.time_box)
    reason = f"Drill time box of {box} ran out: cancelled, not completed"
    if incident is not None:
        if S.CANCELLED not in allowed_next(incident.status):  # monitoring
            incident = incident_transition(
                incident=incident,
                to=S.INVESTIGATING,
                by=None,
                via=VIA,
                reason=reason,
                at=now,
                announce=False,
            )
        incident_transition(
            incident=incident, to=S.CANCELLED, by=None, via=VIA, reason=reason, at=now
        )
    _finish(drill, State.TIMED_OUT, reason, now)


@transaction.atomic
def drill_check(*, drill_id: int, now: datetime | None = None) -> bool:
    """Follow one running drill: link its incident, end it if it is over.

    Resolved (or closed) incident: completed. Cancelled by someone:
    cancelled. Time box run out: the incident is cancelled, the drill timed
    out. Return whether this call ended it.
    """
    now = now or timezone.now()
    drill = (
        Drill.objects.select_for_update(of=("self",))
        .select_related("scenario", "incident", "alert_event")
        .filter(pk=drill_id)
        .first()
    )
    if drill is None or drill.state != State.RUNNING:
        return False  # another check ended it
    incident = _link(drill)
    status = incident.status if incident is not None else ""
    if incident is not None and status in (S.RESOLVED, S.CLOSED):
        resolved = f"Resolved at {when(incident.resolved_at)}"
        _finish(drill, State.COMPLETED, resolved, now)
    elif status == S.CANCELLED:
        _finish(drill, State.CANCELLED, "Its incident was cancelled", now)
    elif drill.ends_at is not None and drill.ends_at <= now:
        _time_out(drill, incident, now)
    return drill.state != State.RUNNING


def drills_sweep(*, now: datetime | None = None) -> int:
    """Begin due drills, follow running ones (beat); return how many moved."""
    now = now or timezone.now()
    moved = 0
    waiting = Drill.objects.filter(state__in=WAITING, due_at__lte=now)
    for pk in waiting.order_by("due_at").values_list("pk", flat=True)[:100]:
        moved += drill_begin(drill_id=pk, now=now)
    running = Drill.objects.filter(state=State.RUNNING).order_by("ends_at")
    for pk in running.values_list("pk", flat=True)[:500]:
        try:
            moved += drill_check(drill_id=pk, now=now)
        except Exception:  # one broken drill must not hold up the rest
            logger.exception("drill %s: check failed", pk)
    return moved


@transaction.atomic
def drill_cancel(
    *, drill: Drill, by: User | None, now: datetime | None = None
) -> Drill:
    """Call off a drill that has not begun (scheduled or postponed)."""
    now = now or timezone.now()
    drill = Drill.objects.select_for_update().get(pk=drill.pk)
    if drill.state not in WAITING:
        raise DrillStateError(
            f"drill {drill.pk} is {drill.get_state_display().lower()}: only a "
            "drill that has not begun can be called off; cancel its incident",
            field="state",
        )
    who = f" by {by.get_username()}" if by is not None else ""
    _finish(drill, State.CANCELLED, f"Called off{who} before it began", now)
    return drill
