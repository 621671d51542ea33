"""The admin's metrics dashboard, as HTML: charts drawn by Vigil, drills apart."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from tests.conftest import staff_client
from tests.metrics.conftest import T0, worked


def test_the_dashboard_draws_trends_and_lists_breaches(service, responder):
    late = worked(service, "P1", ack=timedelta(hours=2), title="Late one")
    worked(service, "P2", at=T0 - timedelta(days=31), ack=timedelta(minutes=5))
    worked(service, "P2", ack=timedelta(minutes=9))
    worked(service, "P2", ack=timedelta(minutes=5), is_drill=True, title="Drill one")

    with time_machine.travel(T0 + timedelta(days=1)):
        page = staff_client(responder).get("/admin/metrics/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg class="metrics-chart"') == 2
    assert "Mean time to acknowledge" in html
    assert "<circle" in html  # the P1's month has a point
    assert html.count("<polyline") == 1  # P2, over two months
    assert late.public_id in html
    assert "Drill one" not in html
    # Inside the admin like its other pages: its header and the user's tools.
    assert 'id="user-tools"' in html
    assert "Django administration" not in html


def test_drills_have_a_page_of_their_own(service, responder):
    worked(service, "P1", ack=timedelta(hours=2), title="Real one")
    drill = worked(service, "P1", ack=timedelta(hours=2), is_drill=True)

    with time_machine.travel(T0 + timedelta(days=1)):
        page = staff_client(responder).get("/admin/metrics/drills/")

    html = page.content.decode()
    assert drill.public_id in html
    assert "Real one" not in html


def test_another_team_sees_none_of_it(service, responder, outsider):
    incident = worked(service, "P1", ack=timedelta(hours=2))

    with time_machine.travel(T0 + timedelta(days=1)):
        page = staff_client(outsider).get("/admin/metrics/")

    assert page.status_code == 200
    assert incident.public_id not in page.content.decode()


def test_signed_out_visitors_are_sent_to_the_login(db):
    from django.test import Client

    page = Client().get("/admin/metrics/")

    assert page.status_code == 302
    assert "/admin/login/" in page["Location"]


def test_the_dashboard_covers_the_twelve_calendar_months_its_charts_show(
    service, responder
):
    # On 11 March 2026 the charts run from April 2025 to March 2026.
    first = worked(
        service, "P1", at=T0.replace(year=2025, month=4, day=1, hour=0, minute=30),
        ack=timedelta(hours=2),
    )  # fmt: skip
    before = worked(
        service, "P1", at=T0.replace(year=2025, month=3, day=31, hour=23, minute=30),
        ack=timedelta(hours=2),
    )  # fmt: skip

    with time_machine.travel(T0 + timedelta(days=1)):
        page = staff_client(responder).get("/admin/metrics/")

    html = page.content.decode()
    assert "Since 2025-04-01" in html
    assert first.public_id in html
    assert before.public_id not in html
