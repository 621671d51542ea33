"""The benches write their history with SQL straight into the incident
tables, past the models' defaults. These run that SQL, a few rows at a time,
so that a column added to those tables without a database default fails
here, not at the next bench run (the cadence bench once broke that way)."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import cadence, metrics, statuspage
from incidents.models import Incident, StatusUpdate
from metrics.models import RollupCell

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the benches' SQL is PostgreSQL's (generate_series)",
    ),
    pytest.mark.django_db,
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # it vacuums
def test_the_metrics_bench_writes_years_of_incidents_and_rolls_them_up():
    figures = metrics._populate(300)

    assert Incident.objects.filter(public_id__startswith="BENCH-").count() == 300
    assert figures["rollup_cells"] == RollupCell.objects.count() > 0


def test_the_cadence_bench_writes_open_incidents_with_running_clocks():
    cadence._populate(100)

    written = Incident.objects.filter(public_id__startswith="BENCH-")
    assert written.count() == 100
    assert written.filter(update_check_at__isnull=False).count() == 75


def test_the_status_page_bench_writes_public_history_and_open_incidents():
    exec(statuspage.SETUP % {"services": 3})  # noqa: S102 - the bench's own setup
    with connection.cursor() as cursor:
        for statement in statuspage.history(400):
            cursor.execute(statement)

    assert Incident.objects.filter(public_id__startswith="BENCH-").count() == 400
    assert (
        Incident.objects.filter(public_id__startswith="OPEN-", is_public=True).count()
        == statuspage.OPEN
    )
    assert StatusUpdate.objects.filter(audience="public").exists()
