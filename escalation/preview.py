"""The escalation preview.

The preview answers "if a P0 fired on this service now, who is paged, when
and how": it walks the service's real policy the way the engine climbs it,
asks the schedules who is on call at each step's instant and each person's
notification rules how a page reaches them. It writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from escalation.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
)
from escalation.services.levels import Gap, SkipReason, level_reach, levels_of
from incidents.models import Incident, Service, SeverityLevel
from notifications.services.paging import page_targets, urgency_of

Cause = EscalationStep.Cause
Outcome = EscalationStep.Outcome


def minutes(offset: timedelta) -> float:
    return offset.total_seconds() / 60


@dataclass(frozen=True)
class PreviewChannel:
    """One contact method a page uses, and when (offset from declaration)."""

    kind: str
    address: str
    offset: timedelta

    @property
    def minute(self) -> float:
        return minutes(self.offset)


@dataclass(frozen=True)
class PreviewPage:
    user: User
    channels: list[PreviewChannel]


@dataclass
class PreviewStep:
    """One step the engine would fire: a level paged, or skipped, and why."""

    offset: timedelta
    at: datetime
    level: EscalationLevel
    cause: str
    outcome: str = Outcome.PAGED
    pages: list[PreviewPage] = field(default_factory=list)
    skips: list[Gap] = field(default_factory=list)
    # Until the next level; None for the levels paged at declaration.
    wait: timedelta | None = None

    @property
    def minute(self) -> float:
        return minutes(self.offset)

    @property
    def label(self) -> str:
        return self.level.label


@dataclass
class Preview:
    service: Service
    severity: SeverityLevel
    at: datetime
    urgency: str
    policy: EscalationPolicy | None
    steps: list[PreviewStep] = field(default_factory=list)
    repeats: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def nobody_paged(self) -> bool:
        return not any(step.pages for step in self.steps)


def _reach(step: PreviewStep, urgency: str, declared: datetime) -> None:
    """Fill in whom the level pages at the step's instant, as level_reach does."""
    reach = level_reach(step.level, step.at)
    step.skips.extend(reach.gaps)
    users = reach.users
    for user in users:
        reached = page_targets(user=user, urgency=urgency, now=step.at)
        if not reached:
            step.skips.append(
                Gap(
                    SkipReason.NO_CONTACT_METHOD,
                    f"{user.get_username()} has no verified contact method",
                )
            )
            continue
        channels = [
            PreviewChannel(
                kind=t.kind,
                address=t.contact_method.display_address
                if t.contact_method
                else t.address,
                offset=(t.due_at or step.at) - declared,
            )
            for t in reached
        ]
        step.pages.append(PreviewPage(user=user, channels=channels))
    if not step.pages:
        step.outcome = Outcome.EMPTY


def _step(
    preview: Preview, level: EscalationLevel, offset: timedelta, cause: str
) -> PreviewStep:
    step = PreviewStep(offset=offset, at=preview.at + offset, level=level, cause=cause)
    if not level.applies_to(preview.severity):
        limit = level.up_to_severity.code if level.up_to_severity else ""
        step.outcome = Outcome.NOT_FOR_SEVERITY
        step.skips.append(
            Gap(SkipReason.NOT_FOR_SEVERITY, f"only for {limit} and worse")
        )
    else:
        _reach(step, preview.urgency, preview.at)
    return step


def escalation_preview(
    *, service: Service, severity: SeverityLevel, at: datetime | None = None
) -> Preview:
    """Return who an incident of `severity` on `service` declared at `at` pages.

    One pass through the levels, as the engine fires them when nobody
    acknowledges: level 1, then the levels paged at declaration, at minute 0;
    a level that paged someone waits its delay before the next, a level that
    paged nobody hands on at once. `repeats` says how many passes follow.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("the preview's instant needs a time zone")
    policy = service.escalation_policy
    preview = Preview(
        service=service,
        severity=severity,
        at=at,
        urgency=urgency_of(Incident(service=service, severity=severity)),
        policy=policy,
    )
    if policy is None:
        preview.notes.append(
            f"Service {service} has no escalation policy: nobody is paged."
        )
        return preview
    levels = levels_of(policy)
    offset = timedelta(0)
    climbed: list[PreviewStep] = []
    for level in levels:
        step = _step(preview, level, offset, Cause.ESCALATION)
        paged = step.outcome == Outcome.PAGED
        step.wait = level.wait_after(severity) if paged else timedelta(0)
        offset += step.wait
        climbed.append(step)
    # As the engine: the declaration pages follow the climb's minute-0 steps,
    # for the levels it did not reach then.
    at_once = [step for step in climbed if not step.offset]
    reached = at_once[-1].level.position if at_once else 0
    declared = [
        _step(preview, level, timedelta(0), Cause.DECLARATION)
        for level in levels
        if level.position > reached and level.pages_at_declaration(severity)
    ]
    preview.steps = at_once + declared + climbed[len(at_once) :]
    # A pass is repeated only if its climb (not the declaration) paged someone.
    if any(step.pages for step in climbed):
        preview.repeats = policy.repeat
    preview.notes.extend(_notes(preview, policy, offset, bool(levels)))
    return preview


def _notes(
    preview: Preview, policy: EscalationPolicy, end: timedelta, has_levels: bool
) -> list[str]:
    if not has_levels:
        return [f"Policy {policy} has no levels: nobody is paged."]
    notes = []
    if preview.nobody_paged:
        notes.append("Nobody is paged: every level is skipped.")
    if preview.repeats:
        notes.append(
            f"Then the levels are paged again, {preview.repeats} more "
            f"time{'s' if preview.repeats > 1 else ''}; the next pass starts at "
            f"minute {minutes(end):g}."
        )
    else:
        if policy.repeat:
            notes.append(
                f"The policy repeats {policy.repeat} times, but not this pass: "
                "its levels paged nobody."
            )
        notes.append(
            "After the last level the escalation ends: nobody more is paged "
            "until someone acts."
        )
    return notes
