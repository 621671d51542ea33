"""A poison event through RabbitMQ and a real worker: retried, quarantined, passed."""

from __future__ import annotations

from django.db import connection

from incidents.ingest.signals import TRIGGER
from incidents.models import AlertEvent, Incident
from incidents.services import integration_create
from incidents.tasks import ingest_process_task
from tests.live import Process, wait_until


def test_a_worker_retries_a_poison_event_then_quarantines_it_and_goes_on(
    worker: Process, service
):
    integration, _ = integration_create(name="Checks", kind="generic", service=service)
    bad, good = (
        AlertEvent.objects.create(
            integration=integration,
            service=service,
            source=AlertEvent.Source.GENERIC,
            action=TRIGGER,
            dedup_key=key,
            payload={"title": f"{key} is full"},
        )
        for key in ("bad", "good")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_alertevent SET payload = %s WHERE id = %s",
            ["[" * 950 + "]" * 950, bad.pk],
        )

    ingest_process_task.delay(integration_id=integration.pk)

    def applied() -> bool:
        return AlertEvent.objects.filter(
            pk=good.pk, processed_at__isnull=False
        ).exists()

    wait_until(applied, "the event behind the poison applied", seconds=90)
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("failed", 3)
    assert Incident.objects.get().title == "good is full"
    log = worker.log.read_text()
    assert log.count("EventFailedError") >= 2, log[-3000:]  # two retries
