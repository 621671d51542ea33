"""Who is on call: now, until when, and next, for every schedule the user
may see, with a week of shifts (overrides marked), the contact methods of
the people on call whose contact test is unconfirmed, and the schedule's
iCal feed as a full URL to copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from escalation import selectors
from escalation.models import Schedule
from notifications.selectors import UnconfirmedMethod, contact_methods_unconfirmed

WEEK = timedelta(days=7)
# Enough shifts to fill a week of the busiest rotations (hourly hand-offs
# with overrides); a week that needs more is cut and says so.
WEEK_SHIFTS = 200


@dataclass(frozen=True)
class OncallCard:
    schedule: Schedule
    zone: str
    now: list[User]
    # The on-call people's methods whose contact test is unconfirmed.
    unconfirmed: list[tuple[User, UnconfirmedMethod]]
    until: datetime | None
    next_user: User | None
    next_from: datetime | None
    week: list[selectors.ShiftDetail]
    ical_url: str


def _card(request: HttpRequest, schedule: Schedule, now: datetime) -> OncallCard:
    report = selectors.schedule_oncall_report(schedule=schedule, at=now)
    shifts = selectors.schedule_shift_details(
        schedule=schedule, start=now, count=WEEK_SHIFTS
    )
    current = [s for s in shifts if s.start <= now]
    upcoming = [s for s in shifts if s.start > now]
    unconfirmed = contact_methods_unconfirmed(user_ids=[u.pk for u in report.users])
    people = {user.pk: user for user in report.users}
    return OncallCard(
        schedule=schedule,
        zone=str(selectors.schedule_zone(schedule=schedule)),
        now=report.users,
        unconfirmed=[
            (people[m.user_id], m)
            for u in report.users
            for m in unconfirmed.get(u.pk, [])
        ],
        until=min((s.end for s in current), default=None),
        next_user=upcoming[0].user if upcoming else None,
        next_from=upcoming[0].start if upcoming else None,
        week=[s for s in shifts if s.start < now + WEEK],
        ical_url=request.build_absolute_uri(
            reverse("ical-schedule", args=[schedule.ical_token])
        ),
    )


class OncallAdminMixin(admin.ModelAdmin):
    """`oncall/` beside the schedules: every visible schedule on one page."""

    def get_urls(self) -> list[URLPattern]:
        page = path(
            "oncall/",
            self.admin_site.admin_view(self.oncall_view),
            name="escalation_schedule_oncall",
        )
        return [page, *super().get_urls()]

    def oncall_view(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        schedules = selectors.schedule_list(user=request.user).order_by(
            "team__name", "name"
        )
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,  # the room goes to the console
            "title": "Who is on call",
            "opts": self.model._meta,
            "cards": [_card(request, schedule, now) for schedule in schedules],
            "now": now,
        }
        return TemplateResponse(
            request, "admin/escalation/schedule/oncall.html", context
        )
