"""The drill report in the admin: its page, its link on the drill's incident
page, and the drills' trend chart on the drill metrics page."""

from __future__ import annotations

import time_machine
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import staff_client
from tests.escalation.drill_reports.conftest import T0


def page_url(public_id: str, suffix: str = "") -> str:
    return f"/admin/escalation/escalation/drill-report/{public_id}/{suffix}"


def test_the_report_page_shows_the_scores_and_what_to_improve(
    responder, scripted_drill
):
    page = staff_client(responder).get(page_url(scripted_drill.public_id))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Drill report: Site down" in html
    assert "bob never responded to the page" in html
    assert "carol after 25 min (late)" in html
    assert "<strong>missed</strong>" in html
    download = staff_client(responder).get(
        page_url(scripted_drill.public_id, "markdown/")
    )
    assert download["Content-Type"] == "text/markdown; charset=utf-8"


def test_the_drills_incident_page_links_its_report_and_a_real_incidents_does_not(
    responder, scripted_drill, incident
):
    client = staff_client(responder)
    report = page_url(scripted_drill.public_id)

    drill_page = client.get(f"/admin/incidents/incident/{scripted_drill.pk}/change/")
    real_page = client.get(f"/admin/incidents/incident/{incident.pk}/change/")

    assert drill_page.status_code == real_page.status_code == 200
    assert report in drill_page.content.decode()
    assert "drill-report" not in real_page.content.decode()


def test_no_report_for_a_real_incident_another_teams_drill_or_without_the_right(
    responder, outsider, scripted_drill, incident
):
    assert staff_client(responder).get(page_url(incident.public_id)).status_code == 404
    theirs = staff_client(outsider).get(page_url(scripted_drill.public_id))
    assert theirs.status_code == 404
    bare = User.objects.create_user("bare", is_staff=True)  # no group, no rights
    client = Client()
    client.force_login(bare)
    assert client.get(page_url(scripted_drill.public_id)).status_code == 403


def test_the_drill_metrics_page_charts_each_teams_drills(
    responder, cancelled_drill, scripted_drill
):
    with time_machine.travel(T0, tick=False):
        page = staff_client(responder).get("/admin/metrics/drills/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Platform: time to the first acknowledgement, drill by drill" in html
    assert html.count("<circle") >= 1  # the scripted drill's 12 minutes
    assert page_url(scripted_drill.public_id) in html
    assert page_url(cancelled_drill.public_id) in html
    production = staff_client(responder).get("/admin/metrics/").content.decode()
    assert "drill by drill" not in production
