"""Overrides, swaps and the users' calendar feeds."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from escalation import selectors
from escalation.exceptions import ScheduleError
from escalation.models import CalendarFeed, Override, Schedule
from escalation.models.schedules import new_token
from escalation.services.schedules import validate_instant, validate_members

MAX_REASON = 200


def _lock(schedule: Schedule) -> None:
    """Serialise changes to one schedule's overrides (checks read the schedule)."""
    Schedule.objects.select_for_update().filter(pk=schedule.pk).first()


def _check_span(
    schedule: Schedule, user: User, start: datetime, end: datetime, field: str
) -> None:
    validate_instant(start, field)
    validate_instant(end, field)
    if end <= start:
        raise ScheduleError(f"{field}: the end comes after the start", field=field)
    validate_members(schedule.team, [user], field=field)


def _check_reason(reason: str) -> str:
    if len(reason) > MAX_REASON:
        raise ScheduleError(
            f"a reason has at most {MAX_REASON} characters", field="reason"
        )
    return reason


@transaction.atomic
def override_create(
    *,
    schedule: Schedule,
    user: User,
    start: datetime,
    end: datetime,
    covered_user: User | None = None,
    reason: str = "",
    by: User | None = None,
) -> Override:
    """Put `user` on call from `start` to `end`, above every layer.

    With `covered_user`, only while that user would be on call; without, in
    place of whoever is on call, or in a gap. Where overrides overlap, the
    newest wins.
    """
    _lock(schedule)
    _check_span(schedule, user, start, end, "user")
    if covered_user is not None and covered_user.pk == user.pk:
        raise ScheduleError("nobody covers for themselves", field="covered_user")
    return Override.objects.create(
        schedule=schedule,
        user=user,
        covered_user=covered_user,
        start=start,
        end=end,
        reason=_check_reason(reason),
        created_by=by,
    )


@transaction.atomic
def override_delete(*, override: Override) -> None:
    """Remove an override; removing either half of a swap removes the swap."""
    Override.objects.filter(
        Q(pk=override.pk) | Q(swap_of=override) | Q(pk=override.swap_of_id or 0)
    ).delete()


@transaction.atomic
def schedule_swap(
    *,
    schedule: Schedule,
    first_user: User,
    first_start: datetime,
    first_end: datetime,
    second_user: User,
    second_start: datetime,
    second_end: datetime,
    reason: str = "",
    by: User | None = None,
) -> tuple[Override, Override]:
    """Let two members trade shifts, as a pair of overrides that name each other.

    `second_user` takes `first_user`'s time from `first_start` to `first_end`,
    and `first_user` takes `second_user`'s from `second_start` to
    `second_end`. Each must be on call throughout the time they give away.
    """
    _lock(schedule)
    sides = (
        ("first", first_user, first_start, first_end),
        ("second", second_user, second_start, second_end),
    )
    for field, user, start, end in sides:
        _check_span(schedule, user, start, end, field)
    if first_user.pk == second_user.pk:
        raise ScheduleError("a swap is between two people", field="second")
    if first_start < second_end and second_start < first_end:
        raise ScheduleError("the two shifts of a swap overlap", field="second")
    for field, user, start, end in sides:
        if not selectors.user_on_call_throughout(
            schedule=schedule, user=user, start=start, end=end
        ):
            raise ScheduleError(
                f"{user.get_username()} is not on call throughout "
                f"{start.isoformat()} to {end.isoformat()}",
                field=field,
            )
    reason = _check_reason(reason) or (
        f"Swap between {first_user.get_username()} and {second_user.get_username()}"
    )
    given, taken = (
        Override.objects.create(
            schedule=schedule,
            user=taker,
            covered_user=giver,
            start=start,
            end=end,
            reason=reason,
            created_by=by,
        )
        for giver, taker, start, end in (
            (first_user, second_user, first_start, first_end),
            (second_user, first_user, second_start, second_end),
        )
    )
    given.swap_of, taken.swap_of = taken, given
    for half in (given, taken):
        half.save(update_fields=["swap_of"])
    return given, taken


def calendar_feed_get_or_create(*, user: User) -> CalendarFeed:
    """Return the user's calendar feed, made on first use."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """Give the user's calendar feed a new secret URL; the old one stops working."""
    feed = calendar_feed_get_or_create(user=user)
    feed.token = new_token()
    feed.save(update_fields=["token"])
    return feed
