"""Helpers of the drill tests: a scenario of the seeded library, fired."""

from __future__ import annotations

from escalation.models import Drill, DrillScenario
from incidents.models import Integration
from incidents.tasks import ingest_process_task


def scenario(slug: str = "database-failure") -> DrillScenario:
    """Return a scenario of the library the migration seeded."""
    return DrillScenario.objects.get(slug=slug)


def process(drill: Drill) -> Drill:
    """Apply the drill's alert as the ingest worker does; return it re-read."""
    for integration in Integration.objects.filter(is_drill=True):
        ingest_process_task(integration_id=integration.pk)
    drill.refresh_from_db()
    return drill
