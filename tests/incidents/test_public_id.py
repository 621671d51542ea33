from __future__ import annotations

import pytest
import time_machine

from incidents.models import Incident
from tests.concurrency import in_threads
from tests.factories import declare


def test_ids_count_up_within_a_day_and_restart_the_next(service):
    with time_machine.travel("2026-02-28 23:58:00+00:00", tick=False):
        first, second = declare(service), declare(service)
    with time_machine.travel("2026-03-01 00:00:01+00:00", tick=False):
        third = declare(service)

    assert [first.public_id, second.public_id, third.public_id] == [
        "INC-2026-02-28-001",
        "INC-2026-02-28-002",
        "INC-2026-03-01-001",
    ]


def test_the_id_date_is_the_declaration_date_in_the_configured_zone(service, settings):
    settings.TIME_ZONE = "America/New_York"
    with time_machine.travel("2026-07-04 02:00:00+00:00", tick=False):
        incident = declare(service)
    assert incident.public_id == "INC-2026-07-03-001"


def test_the_thousandth_incident_of_a_day_still_gets_an_id(service):
    from incidents.models import IncidentDaySequence

    with time_machine.travel("2026-05-01 12:00:00+00:00", tick=False):
        IncidentDaySequence.objects.create(day="2026-05-01", last=999)
        incident = declare(service)
    assert incident.public_id == "INC-2026-05-01-1000"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_declarations_get_distinct_consecutive_ids(service):
    with time_machine.travel("2026-06-01 10:00:00+00:00", tick=True):
        errors = in_threads(20, lambda n: declare(service, title=f"storm {n}"))

    assert errors == []
    ids = sorted(Incident.objects.values_list("public_id", flat=True))
    assert ids == [f"INC-2026-06-01-{n:03d}" for n in range(1, 21)]
