"""Alerts reaching the engine: the incident an alert opens pages level 1;
a new alert firing in its group pages the level reached again."""

from __future__ import annotations

from escalation.models import Escalation, EscalationStep
from notifications.models import Delivery
from tests.incidents.ingest_helpers import fixture
from tests.incidents.test_ingest_alertmanager import send, with_alert


def pages_to(username: str) -> int:
    return (
        Delivery.objects.filter(purpose="page", user__username=username)
        .values("event_key")
        .distinct()
        .count()
    )


def test_an_alert_opens_an_incident_that_pages_level_one(sop_policy, service):
    from incidents.services import integration_create

    am = integration_create(name="Prometheus", kind="alertmanager", service=service)
    body = fixture("alertmanager-webhook.json")
    send(body, am)
    escalation = Escalation.objects.get()
    assert escalation.state == "active"
    assert escalation.level == 1
    # P1 (severity="page"): level 1, and the lead paged at declaration.
    assert (pages_to("responder"), pages_to("lead")) == (1, 1)

    send(body, am)  # the same alert again: nothing new fires
    assert pages_to("responder") == 1

    send(with_alert(body, "aaaa000000000001", "10.0.0.2:9090"), am)
    assert pages_to("responder") == 2
    step = EscalationStep.objects.get(cause="renotify")
    assert (step.level, step.users) == (1, ["responder"])
