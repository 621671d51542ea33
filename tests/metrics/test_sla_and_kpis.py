"""The SLA view, process KPIs and availability over the API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine

from escalation.models import EscalationPolicy
from escalation.services import escalations_sweep
from incidents.models import StatusUpdate
from incidents.services import incident_transition
from notifications.models import Delivery
from notifications.services import page_user
from tests.conftest import api_client
from tests.escalation.conftest import add_level, user_target
from tests.factories import ContactMethodFactory, MembershipFactory
from tests.metrics.conftest import T0, worked

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def post_update(incident, at):
    StatusUpdate.objects.create(
        incident=incident, status="acknowledged", text="Looking", posted_at=at
    )


def rows(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_sla_compliance_follows_the_severity_matrix(api, service):
    # P1: acknowledge within 1 h, resolve within 4 h.
    worked(service, "P1", ack=30 * MINUTE, resolve=3 * 60 * MINUTE)
    worked(service, "P1", ack=90 * MINUTE, resolve=5 * 60 * MINUTE)
    worked(service, "P1", ack=10 * MINUTE, resolve=2 * 60 * MINUTE, is_drill=True)

    with time_machine.travel(T0 + timedelta(days=1)):
        p1 = {row["severity"]: row for row in rows(api.get("/api/v1/metrics/sla/"))}[
            "P1"
        ]

    assert p1["ack_target_seconds"] == 3600
    assert p1["resolve_target_seconds"] == 4 * 3600
    assert p1["incidents"] == 2
    assert p1["ack_compliance"] == 0.5
    assert p1["resolve_compliance"] == 0.5


def test_the_breach_list_names_late_and_overdue_incidents(api, service):
    worked(service, "P1", ack=30 * MINUTE, resolve=60 * MINUTE)
    late = worked(service, "P1", ack=90 * MINUTE, resolve=60 * 3 * MINUTE)
    open_too_long = worked(service, "P2")  # 4 h to acknowledge

    with time_machine.travel(T0 + 5 * 60 * MINUTE):
        response = api.get("/api/v1/metrics/sla/breaches/", {"format": "csv"})

    breaches = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(row["incident"], row["missed"]) for row in breaches} == {
        (late.public_id, "acknowledge"),
        (open_too_long.public_id, "acknowledge"),
    }


def test_status_update_cadence_counts_updates_missed(api, service):
    # P1 wants an update every 2 h; resolved after 7 h: due at 2 h, then
    # 2 h after each update.
    incident = worked(service, "P1", ack=MINUTE, resolve=7 * 60 * MINUTE)
    post_update(
        incident, T0 + 100 * MINUTE
    )  # kept (due 2 h); the next is due at 3 h 40, missed; then 5 h 40, missed

    with time_machine.travel(T0 + timedelta(days=1)):
        result = rows(
            api.get("/api/v1/metrics/kpis/", {"kpi": "status_update_cadence"})
        )

    assert result == [
        {
            "kpi": "status_update_cadence",
            "subject": "P1",
            "value": 1 / 3,
            "unit": "ratio",
            "sample": 3,
            "target": 1.0,
        }
    ]


def test_incidents_that_posted_no_update_missed_every_update_due_until_resolved(
    api, service
):
    # P1 wants an update every 2 h.
    talked = worked(service, "P1", ack=MINUTE, resolve=7 * 60 * MINUTE)
    post_update(talked, T0 + 100 * MINUTE)  # 3 due (2 h, 3 h 40, 5 h 40), 2 missed
    worked(service, "P1", ack=MINUTE, resolve=6 * 60 * MINUTE)  # 2 h, 4 h: missed
    worked(service, "P1", ack=MINUTE)  # open at 9 h: 2, 4, 6 and 8 h missed

    with time_machine.travel(T0 + 9 * 60 * MINUTE, tick=False):
        p1 = {row["severity"]: row for row in rows(api.get("/api/v1/metrics/sla/"))}[
            "P1"
        ]

    assert (p1["updates_due"], p1["updates_missed"]) == (9, 8)


def test_repeat_incidents_are_the_same_service_and_category_within_30_days(
    api, service
):
    worked(service, at=T0, category="database")
    worked(service, at=T0 + timedelta(days=10), category="database")
    worked(service, at=T0 + timedelta(days=50), category="database")
    worked(service, at=T0 + timedelta(days=51), category="security")

    result = rows(api.get("/api/v1/metrics/kpis/", {"kpi": "repeat_incidents"}))

    assert [(row["subject"], row["value"]) for row in result] == [
        ("count", 1),
        ("rate", 0.25),
    ]


def repeat_rows(api, **query):
    result = rows(api.get("/api/v1/metrics/kpis/", {"kpi": "repeat_incidents"} | query))
    return {row["subject"]: row["value"] for row in result}


def test_an_incident_repeats_an_earlier_one_of_any_severity_even_outside_the_filters(
    api, service
):
    worked(service, "P3", at=T0, category="database")
    worked(service, "P1", at=T0 + timedelta(days=10), category="database")

    p1_since = repeat_rows(
        api, severity="P1", since=(T0 + timedelta(days=5)).isoformat()
    )

    assert p1_since == {"count": 1, "rate": 1.0}


def test_cancelled_drill_and_restricted_incidents_are_repeated_by_none(api, service):
    cancelled = worked(service, at=T0, category="database")
    incident_transition(incident=cancelled, to="cancelled", by=None, reason="test")
    worked(service, at=T0 + timedelta(days=1), category="database", is_drill=True)
    restricted = worked(service, at=T0 + timedelta(days=2), category="database")
    restricted.restricted = True
    restricted.save()
    worked(service, at=T0 + timedelta(days=3), category="database")

    assert repeat_rows(api) == {"count": 0, "rate": 0.0}


def test_delivery_success_is_by_kind(api, service, responder):
    ContactMethodFactory(user=responder, kind="email", address="r@example.com")
    incident = worked(service)
    page_user(incident=incident, user=responder, event_key="one")
    page_user(incident=incident, user=responder, event_key="two")
    first, second = Delivery.objects.filter(kind="email")
    Delivery.objects.filter(pk=first.pk).update(status="sent")
    Delivery.objects.filter(pk=second.pk).update(status="failed")

    result = rows(api.get("/api/v1/metrics/kpis/", {"kpi": "delivery_success"}))

    assert [row for row in result if row["subject"] == "email"] == [
        {
            "kpi": "delivery_success",
            "subject": "email",
            "value": 0.5,
            "unit": "ratio",
            "sample": 2,
            "target": None,
        }
    ]


def test_escalations_that_reached_each_level_are_counted(api, service, responder):
    second = MembershipFactory(team=service.team, user__username="second").user
    for user in (responder, second):
        ContactMethodFactory(user=user)
    policy = EscalationPolicy.objects.create(name="Two", team=service.team)
    add_level(policy, 1, "First", user_target(responder), delay=10 * MINUTE)
    add_level(policy, 2, "Second", user_target(second), delay=10 * MINUTE)
    service.escalation_policy = policy
    service.save()
    worked(service, ack=MINUTE)
    worked(service)
    escalations_sweep(now=T0 + 15 * MINUTE)

    result = rows(api.get("/api/v1/metrics/kpis/", {"kpi": "escalation_reached_level"}))

    assert [(row["subject"], row["value"]) for row in result] == [
        ("level 1", 2),
        ("level 2", 1),
    ]


def test_availability_is_the_window_outside_incidents(api, service):
    # 6 h of impact, two incidents overlapping by 1 h, in a 30-day window.
    worked(service, started=60 * MINUTE, resolve=2 * 60 * MINUTE)
    worked(service, at=T0 + 60 * MINUTE, resolve=3 * 60 * MINUTE)
    query = {"since": T0 - timedelta(days=15), "until": T0 + timedelta(days=15)}

    result = rows(
        api.get(
            "/api/v1/metrics/availability/",
            {key: value.isoformat() for key, value in query.items()},
        )
    )

    assert result[0]["service"] == "website"
    assert result[0]["downtime_seconds"] == 5 * 3600
    assert result[0]["availability"] == 1 - 5 / (30 * 24)


def test_open_incidents_are_down_from_the_first_one_s_start_until_now(api, service):
    worked(service, at=T0 - 3 * 60 * MINUTE, resolve=60 * MINUTE)  # 1 h down
    worked(service, at=T0)  # open: down from T0 on
    worked(service, at=T0 + 60 * MINUTE)  # open too, inside the first
    query = {"since": T0 - timedelta(days=1), "until": T0 + timedelta(days=1)}

    with time_machine.travel(T0 + 3 * 60 * MINUTE, tick=False):
        result = rows(
            api.get(
                "/api/v1/metrics/availability/",
                {key: value.isoformat() for key, value in query.items()},
            )
        )

    assert (result[0]["incidents"], result[0]["downtime_seconds"]) == (3, 4 * 3600)


def test_overlapping_nested_identical_and_touching_incidents_count_once(api, service):
    worked(service, resolve=4 * 60 * MINUTE)  # T0 to T0 + 4 h
    worked(service, resolve=4 * 60 * MINUTE)  # the same span again
    worked(service, at=T0 + 60 * MINUTE, resolve=60 * MINUTE)  # inside the first
    # Overlaps the first (not the one before it): 1 h more, until T0 + 5 h.
    worked(service, at=T0 + 3 * 60 * MINUTE, resolve=2 * 60 * MINUTE)
    worked(service, at=T0 + 5 * 60 * MINUTE, resolve=60 * MINUTE)  # touches it
    query = {"since": T0 - timedelta(days=1), "until": T0 + timedelta(days=1)}

    result = rows(
        api.get(
            "/api/v1/metrics/availability/",
            {key: value.isoformat() for key, value in query.items()},
        )
    )

    assert (result[0]["incidents"], result[0]["downtime_seconds"]) == (5, 6 * 3600)
    assert result[0]["availability"] == 1 - 6 / 48


@pytest.mark.parametrize(
    ("since", "until", "incidents", "downtime"),
    [
        (-DAY, DAY, 3, 4 * 3600),  # down from T0 - 1 h until now
        (-DAY, 2 * 60 * MINUTE, 3, 3 * 3600),  # until the window's end, before now
        (-DAY, -30 * MINUTE, 1, 30 * 60),  # ends before the open one began
        (30 * MINUTE, DAY, 3, 2.5 * 3600),  # begins inside two of them
        (4 * 60 * MINUTE, DAY, 0, 0),  # begins after now
    ],
)
def test_an_open_incident_overlapping_resolved_ones_counts_once(
    api, service, since, until, incidents, downtime
):
    worked(service, at=T0 - 60 * MINUTE, resolve=2 * 60 * MINUTE)  # until T0 + 1 h
    worked(service, at=T0)  # open: down from T0 until now
    worked(service, at=T0 + 60 * MINUTE, resolve=60 * MINUTE)  # inside the open one
    query = {"since": T0 + since, "until": T0 + until}

    with time_machine.travel(T0 + 3 * 60 * MINUTE, tick=False):
        result = rows(
            api.get(
                "/api/v1/metrics/availability/",
                {key: value.isoformat() for key, value in query.items()},
            )
        )

    assert (result[0]["incidents"], result[0]["downtime_seconds"]) == (
        incidents,
        downtime,
    )


def test_an_outsider_gets_none_of_the_kpis_or_services(service, outsider):
    worked(service, ack=MINUTE)
    client = api_client(outsider)

    assert rows(client.get("/api/v1/metrics/availability/")) == []
    assert (
        rows(client.get("/api/v1/metrics/kpis/", {"kpi": "repeat_incidents"}))[0][
            "sample"
        ]
        == 0
    )
