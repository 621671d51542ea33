"""The public page: what it shows, what it never shows, and how it is served."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from incidents.models import Service
from incidents.services import maintenance_window_create
from notifications.models import StatusPage
from tests.factories import declare
from tests.statuspage.conftest import INTERNAL, make_public, post_update

# What responders wrote for themselves, in the `outage` fixture.
PRIVATE_WORDS = ["db-7", "Alice", "api-gateway-7", "Billing reconciler", "Internal"]


def page(client: Client) -> str:
    answer = client.get("/status/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_page_needs_no_login_and_shows_public_state_and_updates(
    client, outage, private_service
):
    html = page(client)

    assert "Partial System Outage" in html
    assert "Elevated API errors" in html
    assert "We are investigating elevated error rates." in html
    assert ">API<" in html
    assert "Partial outage" in html


def test_a_page_nothing_has_changed_on_says_so_rather_than_a_date(client, api_service):
    assert "No change in the last 90 days" in page(client)


def test_the_last_change_is_the_latest_public_incident_s(client, outage):
    outage.refresh_from_db()
    html = page(client)

    assert "No change in the last 90 days" not in html
    shown = timezone.localtime(outage.updated_at).strftime("%Y-%m-%d %H:%M:%S")
    assert f"Last change {shown}" in html


def test_private_services_internal_updates_and_names_never_show(
    client, outage, private_service, responder
):
    declare(private_service, "P0", title="Billing down", by=responder)
    html = page(client)

    for words in [*PRIVATE_WORDS, "Billing down", responder.username]:
        assert words not in html
    assert "<script" not in html


def test_drills_never_show_even_when_marked_public(client, api_service, responder):
    drill = declare(api_service, "P0", title="Drill", by=responder, is_drill=True)
    make_public(drill, "Game day outage", responder)
    post_update(drill, "Practising a failover")
    html = page(client)

    assert "Game day outage" not in html
    assert "Practising a failover" not in html
    assert "All Systems Operational" in html


def test_an_incident_not_marked_public_leaves_the_service_operational(
    client, api_service, responder
):
    declare(api_service, "P0", title="Quiet outage", by=responder)

    assert "All Systems Operational" in page(client)


def test_severity_sets_the_state_and_the_worst_wins(client, outage, responder):
    major = declare(outage.service, "P0", title="down", by=responder)
    make_public(major, "API down", responder)

    html = page(client)

    assert "Major Service Outage" in html
    assert "Major outage" in html


def test_a_manual_override_wins_over_incidents(client, outage, api_service):
    Service.objects.filter(pk=api_service.pk).update(
        public_status_override=Service.PublicStatus.DEGRADED_PERFORMANCE
    )
    api_service.refresh_from_db()
    api_service.save()  # as the admin saves it: the page is read afresh

    assert "Minor Service Outage" in page(client)


def test_maintenance_puts_the_service_under_maintenance_and_is_listed(
    client, api_service, responder
):
    now = timezone.now()
    maintenance_window_create(
        service=api_service, starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1), reason="Database upgrade", by=responder,
    )  # fmt: skip
    maintenance_window_create(
        service=api_service, starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1), reason="Network work", by=responder,
    )  # fmt: skip
    html = page(client)

    assert "Service Under Maintenance" in html
    assert "Database upgrade" in html
    assert "In progress" in html
    assert "Network work" in html
    assert "Scheduled" in html


def test_resolved_incidents_are_past_incidents_with_a_red_or_orange_day(
    client, api_service, responder
):
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        old = declare(api_service, "P0", title="x", by=responder)
        old = make_public(old, "Login outage", responder)
        old.status, old.resolved_at = "resolved", timezone.now() + timedelta(hours=2)
        old.save()
    html = page(client)

    assert "Past incidents" in html
    assert "Login outage" in html
    assert 'class="m" title=' in html  # a major-outage day among the bars
    assert html.count("<i") >= 90


def test_branding_comes_from_the_admin_and_footer_links_are_only_web_links(client, db):
    StatusPage.objects.create(
        name="Acme Status", logo_url="https://cdn.example.com/logo.png",
        accent_color="#aa0000", header_color="#112233",
        footer_links="Support https://acme.example/help\nEvil javascript:alert(1)",
    )  # fmt: skip
    answer = client.get("/status/")
    html = answer.content.decode()

    assert "Acme Status" in html
    assert "#aa0000" in html
    assert "#112233" in html
    assert 'href="https://acme.example/help"' in html
    assert "javascript:" not in html
    assert (
        "img-src 'self' data: https://cdn.example.com"
        in answer["Content-Security-Policy"]
    )


def test_a_client_that_has_the_page_gets_304(client, outage):
    first = client.get("/status/")
    by_etag = client.get("/status/", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get("/status/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_date.status_code == 304
    assert first["Cache-Control"].startswith("public, max-age=")


def test_a_new_update_shows_at_once_and_changes_the_etag(client, outage):
    first = client.get("/status/")
    post_update(outage, "A fix is being deployed.")
    again = client.get("/status/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert "A fix is being deployed." in again.content.decode()
    assert again["ETag"] != first["ETag"]


def test_an_internal_update_changes_nothing_public(client, outage):
    first = client.get("/status/")
    post_update(outage, "Bob: the replica is lagging", audience=INTERNAL)

    assert client.get("/status/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
