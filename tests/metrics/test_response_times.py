"""Response times over the API: which incidents count, means and percentiles,
groups and periods in the team's time zone, CSV."""

from __future__ import annotations

import csv
import gc
import io
import weakref
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIRequestFactory, force_authenticate

from incidents.models import Incident
from incidents.services import incident_transition
from metrics.apis import ResponseTimesView
from tests.conftest import api_client
from tests.factories import ServiceFactory
from tests.metrics.conftest import T0, worked

URL = "/api/v1/metrics/response-times/"
MINUTE = timedelta(minutes=1)


def group(response, name):
    assert response.status_code == 200, response.content
    return {row["group"]: row for row in response.json()["results"]}[name]


def test_times_are_measured_from_detection_and_impact_from_the_start(api, service):
    worked(
        service,
        started=10 * MINUTE,
        ack=30 * MINUTE,
        mitigate=60 * MINUTE,
        resolve=120 * MINUTE,
    )

    row = group(api.get(URL), "P2")

    assert row["incidents"] == 1
    assert row["time_to_detect_mean"] == 600
    assert row["time_to_acknowledge_mean"] == 1800
    assert row["time_to_mitigate_mean"] == 3600
    assert row["time_to_resolve_mean"] == 7200
    assert row["impact_duration_mean"] == 7800


def test_drills_and_cancelled_incidents_never_count_and_drills_have_their_own(
    api, service
):
    worked(service, ack=10 * MINUTE)
    worked(service, ack=50 * MINUTE, is_drill=True)
    cancelled = worked(service, ack=90 * MINUTE)
    incident_transition(incident=cancelled, to="cancelled", by=None, reason="test")

    production = group(api.get(URL), "P2")
    drills = group(api.get(URL, {"drills": "true"}), "P2")

    assert production["incidents"] == 1
    assert production["time_to_acknowledge_mean"] == 600
    assert drills["incidents"] == 1
    assert drills["time_to_acknowledge_mean"] == 3000


def test_never_acknowledged_incidents_are_reported_not_hidden(api, service):
    worked(service, ack=10 * MINUTE)
    worked(service)

    row = group(api.get(URL), "P2")

    assert row["incidents"] == 2
    assert row["never_acknowledged"] == 1
    assert row["unresolved"] == 2
    assert row["time_to_acknowledge_count"] == 1


def test_a_skewed_clock_leaves_its_measure_out_not_its_incident(api, service):
    worked(service, ack=10 * MINUTE)
    skewed = worked(service, ack=20 * MINUTE)
    # Acknowledged, by the sender's clock, before it was detected.
    Incident.objects.filter(pk=skewed.pk).update(
        acknowledged_at=skewed.detected_at - MINUTE
    )

    row = group(api.get(URL), "P2")

    assert row["incidents"] == 2
    assert row["never_acknowledged"] == 0
    assert row["time_to_acknowledge_count"] == 1
    assert row["time_to_acknowledge_mean"] == 600
    assert row["time_to_acknowledge_p90"] == 600


def test_a_restricted_incident_counts_only_for_who_may_see_it(api, service, team_lead):
    worked(service, ack=10 * MINUTE, category="database")
    restricted = worked(service, ack=30 * MINUTE, category="security")
    restricted.restricted = True
    restricted.save()

    member = api.get(URL, {"group_by": "category"})
    lead = api_client(team_lead).get(URL, {"group_by": "category"})

    assert [row["group"] for row in member.json()["results"]] == ["database"]
    assert group(lead, "security")["time_to_acknowledge_mean"] == 1800


def test_percentiles_interpolate_between_ranks(api, service):
    for minutes in (10, 20, 30, 40, 100):
        worked(service, ack=minutes * MINUTE)

    row = group(api.get(URL), "P2")

    assert row["time_to_acknowledge_mean"] == 40 * 60
    assert row["time_to_acknowledge_p50"] == 30 * 60
    assert row["time_to_acknowledge_p90"] == pytest.approx(76 * 60)


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("day", "2026-03-09"),
        ("week", "2026-W11"),
        ("month", "2026-03"),
        ("quarter", "2026-Q1"),
    ],
)
def test_periods_are_the_teams_local_calendar(api, service, period, label):
    service.team.time_zone = "America/Los_Angeles"
    service.team.save()
    # 03:00 UTC on Tuesday 10 March is 20:00 on Monday 9 March in Los Angeles.
    worked(service, at=T0.replace(hour=3), ack=MINUTE)

    response = api.get(URL, {"group_by": "period", "period": period})

    assert group(response, label)["incidents"] == 1


def test_groups_by_service_and_filters_combine(api, service):
    other = ServiceFactory(slug="api", team=service.team)
    worked(service, ack=MINUTE, category="database")
    worked(other, ack=MINUTE, category="database")
    worked(other, "P3", ack=MINUTE, category="database")
    worked(other, ack=MINUTE, category="security")

    response = api.get(
        URL,
        {
            "group_by": "service",
            "severity": "P2",
            "category": "database",
            "service": ["api", "website"],
        },
    )

    assert {row["group"]: row["incidents"] for row in response.json()["results"]} == {
        "api": 1,
        "website": 1,
    }


def test_since_and_until_bound_the_detection_time(api, service):
    worked(service, at=T0 - timedelta(days=2))
    worked(service, at=T0)

    response = api.get(URL, {"since": (T0 - timedelta(days=1)).isoformat()})

    assert group(response, "P2")["incidents"] == 1


def test_csv_has_one_line_per_group(api, service):
    worked(service, ack=MINUTE)
    worked(service, "P3", ack=MINUTE)

    response = api.get(URL, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["group"] for row in rows] == ["P2", "P3"]
    assert rows[0]["time_to_acknowledge_mean"] == "60.0"


def test_a_responder_sees_only_their_teams_figures(service, outsider):
    worked(service, ack=MINUTE)

    response = api_client(outsider).get(URL)

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_naming_another_teams_service_or_team_is_a_400(service, outsider):
    client = api_client(outsider)

    assert client.get(URL, {"service": "website"}).status_code == 400
    assert client.get(URL, {"team": "platform"}).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"group_by": "colour"},
        {"period": "fortnight"},
        {"severity": "P9"},
        {"category": "weather"},
        {"since": "yesterday"},
        {"since": "2026-03-10T00:00:00Z", "until": "2026-03-09T00:00:00Z"},
        {"drills": "maybe"},
        {"service": "web\x00site"},
        {"team": "plat\x00form"},
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(api, query):
    response = api.get(URL, query)

    assert response.status_code == 400
    assert set(response.json()) <= set(query) | {"non_field_errors"}


def test_an_empty_csv_still_has_its_header_line(api):
    response = api.get("/api/v1/metrics/sla/breaches/", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("incident,title,severity")


def test_an_unknown_format_is_a_400(api):
    response = api.get(URL, {"format": "xml"})

    assert response.status_code == 400
    assert "format" in response.json()


@pytest.mark.parametrize("method", ["post", "delete"])
def test_metrics_are_read_only(api, method):
    response = getattr(api, method)(URL, {"format": "csv"})

    assert response.status_code == 405


def test_the_cyclic_collector_is_off_while_a_report_is_computed_and_on_after(
    api, service
):
    worked(service, ack=10 * MINUTE)
    seen = []

    def note_the_collector(execute, sql, params, many, context):
        seen.append(gc.isenabled())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note_the_collector):
        response = api.get(URL, {"group_by": "period", "period": "day"})

    assert response.status_code == 200
    assert seen
    assert not any(seen)
    assert gc.isenabled()


def test_a_report_is_freed_with_its_response_not_at_the_next_collection(
    responder, service
):
    worked(service, ack=10 * MINUTE)
    request = APIRequestFactory().get(URL, {"group_by": "period", "period": "day"})
    force_authenticate(request, user=responder)
    gc.disable()
    try:
        response = ResponseTimesView.as_view()(request)
        assert response.status_code == 200
        assert response.is_rendered
        answer = weakref.ref(response)
        del response

        assert answer() is None
    finally:
        gc.enable()
