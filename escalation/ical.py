"""iCal feeds of shifts: one per schedule, one per user, behind secret URLs.

No login: the token in the URL is the secret, as calendar apps cannot sign
in. A feed covers the last week and the next 90 days; each shift is an
event whose UID stays the same while the shift does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from escalation import selectors
from escalation.selectors import ShiftDetail

PAST = timedelta(days=7)
FUTURE = timedelta(days=90)


def feed_range(now: datetime) -> tuple[datetime, datetime]:
    """Return the span a feed covers at `now`."""
    return now - PAST, now + FUTURE


def shift_uid(shift: ShiftDetail) -> str:
    """Return the event UID of a shift: its schedule, user and start."""
    start = shift.start.astimezone(UTC)
    return f"{shift.schedule.pk}-{shift.user.pk}-{start:%Y%m%dT%H%M%SZ}@vigil"


def _name(shift: ShiftDetail) -> str:
    return shift.user.get_full_name() or shift.user.get_username()


def _event(shift: ShiftDetail, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", shift_uid(shift))
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.start.astimezone(UTC))
    event.add("dtend", shift.end.astimezone(UTC))
    event.add("summary", f"On call: {_name(shift)} ({shift.schedule.name})")
    if shift.override is not None:
        source = f"Override: {shift.override.reason or 'covering'}"
    else:
        source = f"Layer: {shift.layer.name if shift.layer else '—'}"
    event.add("description", source)
    return event


def calendar_body(title: str, shifts: list[ShiftDetail], now: datetime) -> bytes:
    """Return the iCalendar text of `shifts`."""
    calendar = Calendar()
    calendar.add("prodid", "-//Vigil//On-call schedules//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    for shift in shifts:
        calendar.add_component(_event(shift, now))
    return calendar.to_ical()


def _answer(
    title: str, shifts_between: Callable[[datetime, datetime], list[ShiftDetail]]
) -> HttpResponse:
    now = timezone.now()
    shifts = shifts_between(*feed_range(now))
    response = HttpResponse(
        calendar_body(title, shifts, now), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_safe
def schedule_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Answer the schedule's shifts as iCal; an unknown token is 404."""
    schedule = selectors.schedule_get_by_token(token=token)
    if schedule is None:
        raise Http404("no such calendar")
    return _answer(
        f"On call: {schedule.name}",
        lambda start, end: selectors.schedule_feed_shifts(
            schedule=schedule, start=start, end=end
        ),
    )


@require_safe
def user_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Answer a user's shifts in every schedule as iCal; an unknown token is 404."""
    feed = selectors.calendar_feed_get_by_token(token=token)
    if feed is None:
        raise Http404("no such calendar")
    return _answer(
        f"On call: {feed.user.get_username()}",
        lambda start, end: selectors.user_feed_shifts(
            user=feed.user, start=start, end=end
        ),
    )
