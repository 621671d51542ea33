"""How the worker cuts a storm into transactions: a declaration ends its
batch (it holds the day's incident counter to its commit, and every other
integration's new incident needs that row), while events that declare
nothing still go ten to a transaction (tests/config/test_queue_lanes.py)."""

from __future__ import annotations

from incidents.models import AlertEvent, Incident, Service
from incidents.services.alerts import alert_events_process
from tests.factories import stored_triggers


def _one_batch(integration_id: int) -> tuple[int, bool]:
    done = alert_events_process(integration_id=integration_id, seconds=0)
    return done.applied, done.backlog


def test_a_batch_ends_with_the_event_that_declares_an_incident(
    service: Service,
) -> None:
    keys = ["disk", "disk", "cpu", "cpu", "memory"]
    integration_id = stored_triggers(service, keys).pk

    assert _one_batch(integration_id) == (1, True)
    assert list(Incident.objects.values_list("title", flat=True)) == ["disk"]
    assert _one_batch(integration_id) == (2, True)  # disk again, then cpu
    assert _one_batch(integration_id) == (2, False)  # cpu again, then memory
    assert _one_batch(integration_id) == (0, False)
    assert Incident.objects.count() == 3
    assert not AlertEvent.objects.filter(processed_at__isnull=True).exists()
