"""Reads of drills for their reports and trends, scoped to the user's teams.

A drill is an incident flagged `is_drill`; who may see an incident's
details may read its drill report. The scoring is `escalation.drill_scores`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from escalation.drill_scores import DrillReport, Outcome, drill_report
from incidents.models import Incident, Team
from incidents.selectors import User, incident_list


@dataclass(frozen=True)
class DrillTrend:
    """One drill of a team's trend: how it went, in a line."""

    incident: str
    name: str
    detected_at: datetime
    time_to_acknowledge: timedelta | None
    never_responded: tuple[str, ...]
    cadence_kept: bool | None
    outcome: str

    @property
    def completed(self) -> bool:
        return self.outcome == Outcome.COMPLETED


def drill_list(*, user: User) -> QuerySet[Incident]:
    """Return the drills of `user`'s teams whose details `user` may see."""
    return incident_list(user=user).filter(is_drill=True)


def drill_get(*, user: User, public_id: str) -> Incident | None:
    """Return the drill `public_id` if `user` may read its report, else None
    (an incident that is no drill, another team's, or none at all)."""
    return drill_list(user=user).filter(public_id=public_id).first()


def drill_trend(report: DrillReport, *, name: str = "") -> DrillTrend:
    """Return the report as a line of its team's trend (`name`: the
    scenario's, when known; else the incident's title)."""
    cadence = report.cadence
    return DrillTrend(
        incident=report.incident,
        name=name or report.title,
        detected_at=report.detected_at,
        time_to_acknowledge=report.time_to_acknowledge,
        never_responded=report.never_responded,
        cadence_kept=cadence.kept if cadence.cadence is not None else None,
        outcome=report.outcome,
    )


def drill_trends(
    *,
    user: User,
    team: Team,
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[DrillTrend]:
    """Return `team`'s drills (detected since `since`, if given), oldest
    first, each scored (an open one up to `now`)."""
    drills = drill_list(user=user).filter(service__team=team)
    if since is not None:
        drills = drills.filter(detected_at__gte=since)
    return [
        drill_trend(drill_report(drill, now=now))
        for drill in drills.order_by("detected_at", "id")
    ]
