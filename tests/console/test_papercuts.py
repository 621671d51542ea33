"""What responders hit in the admin, each fixed: plain refusals, honest
escalation states, readable steps, times in the schedule's zone."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from escalation.models import Escalation
from escalation.services import override_create, schedule_create
from escalation.services.policies import escalation_policy_create
from escalation.services.schedules import LayerInput
from incidents.models import Incident
from incidents.services import integration_create
from tests.conftest import staff_client
from tests.factories import declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(team) -> Client:
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_a_maintenance_window_ending_before_it_starts_is_refused_plainly(boss, service):
    now = timezone.now()
    answer = boss.post(
        "/admin/incidents/maintenancewindow/add/",
        {
            "service": service.pk,
            "starts_at_0": f"{now:%Y-%m-%d}",
            "starts_at_1": "12:00:00",
            "ends_at_0": f"{now:%Y-%m-%d}",
            "ends_at_1": "11:00:00",
            "reason": "upgrade",
        },
    )
    page = answer.content.decode()
    assert "A window must end after it starts." in page
    assert "constraint" not in page.lower()


def test_an_escalation_that_paged_nobody_says_so_in_the_list(boss, service):
    incident: Incident = declare(service, "P1")  # the service has no policy
    escalation = Escalation.objects.get(incident=incident)
    page = boss.get("/admin/escalation/escalation/").content.decode()
    said = f"{escalation.get_state_display()}; nobody paged yet"
    assert f'<td class="field-standing">{said}</td>' in page


def test_overrides_are_listed_in_their_schedules_zone(boss, team, responder):
    schedule = schedule_create(
        team=team,
        name="Primary",
        time_zone="Asia/Tokyo",
        layers=[
            LayerInput(
                name="Weekly",
                start_date=timezone.localdate(),
                handoff_time=time(9),
                members=[responder],
            )
        ],
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    override_create(
        schedule=schedule, user=responder, start=start, end=start + timedelta(hours=2)
    )
    page = boss.get("/admin/escalation/override/").content.decode()
    tokyo = start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%a %Y-%m-%d %H:%M} Asia/Tokyo" in page


def test_an_integration_shows_where_to_send_and_only_its_own_settings(boss, service):
    integration, _ = integration_create(
        name="Prometheus", kind="alertmanager", service=service
    )
    page = boss.get(
        f"/admin/incidents/integration/{integration.pk}/change/"
    ).content.decode()
    assert 'value="/ingest/alertmanager/"' in page
    assert 'data-copy="endpoint-webhook"' in page
    assert "heartbeat_cron" not in page
    assert '<select name="default_severity"' in page


def test_responders_reach_alerts_events_windows_and_the_report_form(responder, service):
    client = staff_client(responder)
    for page in ("alert", "alertevent", "maintenancewindow"):
        assert client.get(f"/admin/incidents/{page}/").status_code == 200, page
    assert client.get("/admin/incidents/maintenancewindow/add/").status_code == 200
    board = client.get("/admin/incidents/incident/board/").content.decode()
    assert 'href="/admin/incidents/alertevent/report/"' in board


def test_an_escalation_policy_says_its_chain_on_one_line(boss, team, responder):
    escalation_policy_create(
        name="Primary",
        team=team,
        levels=[
            {"name": "Engineer", "targets": [{"kind": "user", "user": responder}]},
            {"name": "Lead", "targets": [{"kind": "team", "team": team}]},
        ],
    )
    page = boss.get("/admin/escalation/escalationpolicy/").content.decode()
    name = responder.get_full_name() or responder.username
    assert f"L1 Engineer: {name} → L2 Lead: team {team}" in page
