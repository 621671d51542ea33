"""Run in `manage.py shell` on the console's stack: a teammate and an on-call
schedule with an override on the demo team, and a second team (Payments)
with its own responder, schedule and incident. Prints what the tests need
as one line of JSON."""

import json
from datetime import date, time, timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from escalation.services.overrides import override_create
from escalation.services.schedules import LayerInput, schedule_create
from incidents.models import SeverityLevel, Team
from incidents.services import (
    incident_create,
    service_create,
    team_add_member,
    team_create,
)

responders = Group.objects.get(name="Responders")


def person(username: str, first: str, last: str, team: Team) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.com", "console-pw-1", is_staff=True,
        first_name=first, last_name=last,
    )  # fmt: skip
    user.groups.add(responders)
    team_add_member(team=team, user=user)
    return user


platform = Team.objects.get(slug="platform")
admin = User.objects.get(is_superuser=True)
dana = person("dana", "Dana", "Reyes", platform)
monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
primary = schedule_create(
    team=platform, name="Platform primary", time_zone="Europe/Paris",
    layers=[LayerInput(name="Weekly", start_date=monday, handoff_time=time(9),
                       members=[admin, dana], shift_count=1, shift_unit="days")],
)  # fmt: skip
tomorrow = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
override_create(
    schedule=primary, user=dana, start=tomorrow, end=tomorrow + timedelta(hours=4),
    reason="covering the dentist", by=admin,
)  # fmt: skip

payments = team_create(name="Payments")
pat = person("pat", "Pat", "Lee", payments)
billing = service_create(name="Billing", team=payments)
schedule_create(
    team=payments, name="Payments primary", time_zone="America/New_York",
    layers=[LayerInput(name="Weekly", start_date=date(2026, 1, 5),
                       handoff_time=time(9), members=[pat])],
)  # fmt: skip
theirs = incident_create(
    title="Card payments declined", severity=SeverityLevel.objects.get(code="P2"),
    service=billing, by=pat, via="api",
)  # fmt: skip
print(json.dumps({"theirs": theirs.pk, "theirs_id": theirs.public_id}))
