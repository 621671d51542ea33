"""A drill end to end on RabbitMQ with a real worker: its scenario's alert
through ingest, the escalation walking every level of the real policy, the
pages arriving at a local webhook receiver marked [DRILL], and the drill
completed once its incident is resolved, with its report saying who was paged
and who acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from escalation.drill_selectors import drill_report_get
from escalation.models import Drill
from escalation.services import drill_start, drills_sweep
from incidents.models import Incident
from incidents.services import incident_acknowledge, incident_transition
from tests.escalation.conftest import webhook_policy
from tests.escalation.drills import scenario
from tests.factories import verify
from tests.live import Process, start_worker, wait_until
from tests.notifications.servers import HTTPReceiver

ENV = {"VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32"}
PEOPLE = ("oncall", "lead")


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    """Answers 200 to every page, on every path (one path per person)."""
    server = HTTPReceiver().start()
    yield server
    server.stop()


def test_a_drill_walks_the_real_chain_and_every_page_says_drill(
    workers: list[Process], tmp_path, service, team, receiver
):
    workers.append(start_worker(tmp_path / "worker.log", **ENV))
    service.escalation_policy = webhook_policy(
        team, receiver.url, *[(name,) for name in PEOPLE], delay=timedelta(seconds=2)
    )
    service.save()

    drill = drill_start(scenario=scenario("site-down"), team=team, mode="walk_chain")
    wait_until(lambda: receiver.requests_to("/oncall"), "level 1's page", seconds=30)
    incident = Incident.objects.get(is_drill=True)
    oncall = incident.service.team.memberships.get(user__username="oncall").user
    # Acknowledged at once: in this mode the climb still reaches level 2.
    incident_acknowledge(incident=incident, by=oncall)
    wait_until(lambda: receiver.requests_to("/lead"), "level 2's page", seconds=30)

    for name in PEOPLE:
        (page,) = receiver.requests_to(f"/{name}")
        body = page.json
        assert body["is_drill"] is True
        assert body["subject"].startswith("[DRILL]"), body["subject"]
        assert body["text"].splitlines()[0].startswith("[DRILL]"), body["text"]
        assert body["incident"]["id"] == incident.public_id

    drills_sweep()
    drill.refresh_from_db()
    assert (drill.state, drill.incident) == ("running", incident)
    incident_transition(incident=verify(incident), to="resolved", by=oncall)
    drills_sweep()
    drill.refresh_from_db()
    assert drill.state == Drill.State.COMPLETED
    assert incident.timeline.filter(kind="escalated").count() == 2

    report = drill_report_get(user=oncall, public_id=incident.public_id)
    assert report is not None
    assert report.outcome == "completed"
    assert [level.paged for level in report.levels] == [("oncall",), ("lead",)]
    by_name = {r.username: r for r in report.responders}
    assert by_name["oncall"].acknowledged_at is not None
    assert [page.status for page in by_name["lead"].pages] == ["sent"]
