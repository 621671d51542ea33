"""How the page is served while it is rebuilt: one process rebuilds a due
copy, holding a lock in the cache the host's web processes share, and the
others serve the copy they have meanwhile; a process with a copy that is
merely old answers with it and rebuilds it outside the request."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches

from incidents.models import StatusUpdate
from incidents.services import incident_update
from notifications.statuspage import views
from notifications.statuspage.cache import (
    CHECK_SECONDS,
    GENERATION,
    LOCK_SECONDS,
    REFRESH_SECONDS,
    rebuild_lock,
)
from tests.factories import declare
from tests.statuspage.conftest import INTERNAL, PUBLIC, post_update


def another_process_rebuilds(name: str) -> None:
    assert caches["statuspage"].add(rebuild_lock(name), 1, timeout=LOCK_SECONDS)


def test_while_another_process_rebuilds_the_copy_there_is_is_served(client, outage):
    before = client.get("/status/")
    another_process_rebuilds("page")
    post_update(outage, "A fix is being deployed.")
    meanwhile = client.get("/status/")
    caches["statuspage"].delete(rebuild_lock("page"))  # its rebuild is done
    after = client.get("/status/")

    assert meanwhile.status_code == 200
    assert meanwhile.content == before.content
    assert "A fix is being deployed." in after.content.decode()


def test_a_rebuild_whose_process_died_is_taken_over_when_its_lock_lapses(
    client, outage
):
    client.get("/status/api/v2/summary.json")
    another_process_rebuilds("summary")
    post_update(outage, "A fix is being deployed.")
    assert "A fix" not in client.get("/status/api/v2/summary.json").content.decode()

    with time_machine.travel(timedelta(seconds=LOCK_SECONDS + 1)):
        later = client.get("/status/api/v2/summary.json")

    assert "A fix is being deployed." in later.content.decode()


def test_the_request_that_finds_no_rebuild_under_way_shows_a_change_at_once(
    client, outage
):
    client.get("/status/feed.atom")
    post_update(outage, "A fix is being deployed.")

    assert (
        "A fix is being deployed." in client.get("/status/feed.atom").content.decode()
    )


def finish_rebuilds_under_way() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("statuspage-rebuild-"):
            thread.join()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_request_finding_an_old_copy_is_answered_with_it_while_it_is_rebuilt(
    client, outage, settings
):
    before = client.get("/status/")
    # Written as another host would: no signal reaches this process.
    StatusUpdate.objects.bulk_create(
        [StatusUpdate(incident=outage, status=outage.status, audience=PUBLIC,
                      text="The failover is complete.")]
    )  # fmt: skip

    with time_machine.travel(timedelta(seconds=settings.VIGIL_STATUS_CACHE_SECONDS)):
        meanwhile = client.get("/status/")
        finish_rebuilds_under_way()
        after = client.get("/status/")

    assert meanwhile.content == before.content
    assert "The failover is complete." in after.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_copy_whose_sources_did_not_change_is_kept_until_its_refresh(client, outage):
    before = client.get("/status/")
    # Today's uptime moves with the clock while the outage is open, so a
    # rendering made later differs; a kept one does not.
    with time_machine.travel(timedelta(seconds=REFRESH_SECONDS / 2)):
        client.get("/status/")
        finish_rebuilds_under_way()
        kept = client.get("/status/")
    with time_machine.travel(timedelta(seconds=REFRESH_SECONDS + 1)):
        client.get("/status/")
        finish_rebuilds_under_way()
        refreshed = client.get("/status/")

    assert kept.content == before.content
    assert refreshed.content != before.content


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_edit_no_saved_row_shows_is_on_the_page_by_its_refresh(client, outage):
    client.get("/status/")
    # A bulk update sends no signal and stamps no row.
    StatusUpdate.objects.filter(incident=outage, audience=PUBLIC).update(
        text="The failover is complete."
    )
    with time_machine.travel(timedelta(seconds=REFRESH_SECONDS + 1)):
        client.get("/status/")
        finish_rebuilds_under_way()
        refreshed = client.get("/status/")

    assert "The failover is complete." in refreshed.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rebuild_that_fails_in_its_thread_is_logged_and_the_old_copy_served(
    client, outage, monkeypatch, caplog
):
    before = client.get("/status/")

    def broken(snapshot: object) -> tuple[bytes, str]:
        raise RuntimeError("template missing")

    monkeypatch.setitem(views.ENDPOINTS, "page", broken)
    with time_machine.travel(timedelta(seconds=REFRESH_SECONDS + 1)):
        meanwhile = client.get("/status/")
        finish_rebuilds_under_way()
        after = client.get("/status/")
        finish_rebuilds_under_way()  # one more try, if the next check came due

    assert meanwhile.content == after.content == before.content
    assert "rebuilding 'page' failed" in caplog.text
    assert "template missing" in caplog.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_storm_of_private_incidents_leaves_the_page_s_copy_as_it_is(
    client, outage, private_service, responder
):
    before = client.get("/status/")
    # Today's uptime moves with the clock while the outage is open: a copy
    # rendered again after these declarations would differ.
    with time_machine.travel(timedelta(seconds=REFRESH_SECONDS / 2)):
        for n in range(3):
            incident = declare(private_service, "P0", title=f"Billing run {n}")
            post_update(incident, "Reconciling by hand", audience=INTERNAL)
        during = client.get("/status/")
        finish_rebuilds_under_way()
        after = client.get("/status/")

    assert during.content == after.content == before.content


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_incident_made_private_leaves_the_page_within_the_period(
    client, outage, responder, settings
):
    assert "Elevated API errors" in client.get("/status/").content.decode()
    incident_update(incident=outage, by=responder, is_public=False)

    with time_machine.travel(timedelta(seconds=settings.VIGIL_STATUS_CACHE_SECONDS)):
        client.get("/status/")
        finish_rebuilds_under_way()
        after = client.get("/status/")

    assert "Elevated API errors" not in after.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_first_request_after_another_process_s_change_is_answered_with_it(
    client, outage
):
    client.get("/status/")
    # Another process's change: its row, and its new generation in the
    # cache the host's processes share.
    StatusUpdate.objects.bulk_create(
        [StatusUpdate(incident=outage, status=outage.status, audience=PUBLIC,
                      text="The failover is complete.")]
    )  # fmt: skip
    caches["statuspage"].incr(GENERATION)

    with time_machine.travel(timedelta(seconds=CHECK_SECONDS)):
        first = client.get("/status/")

    assert "The failover is complete." in first.content.decode()
