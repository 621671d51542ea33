"""The admin shows a responder nothing of another team's, on any page.

A responder of Platform (staff, "Responders" group) walks every changelist
and add page the admin lets them open, with team Bravo's service, schedule,
policy, integration, channel, window, change, incident and people present;
no page names any of them. The same responder cannot give their incident one
of Bravo's services, nor report a problem without the right to declare.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from escalation.models import EscalationPolicy
from escalation.services import LayerInput, schedule_create
from incidents.models import ChangeEvent, Incident, Team
from incidents.services import (
    integration_create,
    maintenance_window_create,
    user_report_create,
)
from notifications.models import Channel, Kind
from tests.conftest import staff_client
from tests.factories import (
    ContactMethodFactory,
    MembershipFactory,
    ServiceFactory,
    TeamFactory,
    declare,
)

NEEDLE = "bravo"


@pytest.fixture
def bravo(db) -> Team:
    """Team Bravo with one of everything, each named after it."""
    bravo = TeamFactory(name="Bravo", slug="bravo")
    person = MembershipFactory(team=bravo, user__username="bravo-oncall").user
    ContactMethodFactory(user=person)
    service = ServiceFactory(name="Bravo web", slug="bravo-web", team=bravo)
    schedule_create(
        team=bravo,
        name="Bravo rota",
        time_zone="UTC",
        layers=[
            LayerInput(
                name="Bravo layer",
                start_date=timezone.now().date(),
                handoff_time=timezone.now().time().replace(microsecond=0),
                members=[person],
                shift_count=1,
                shift_unit="weeks",
            )
        ],
    )
    EscalationPolicy.objects.create(name="Bravo policy", team=bravo)
    integration, _ = integration_create(
        name="Bravo hook", kind="generic", service=service
    )
    ChangeEvent.objects.create(
        integration=integration,
        service=service,
        summary="Bravo deploy",
        timestamp=timezone.now(),
        payload={},
    )
    Channel.objects.create(
        name="#bravo-chan", kind=Kind.SLACK, address="https://example.com/b", team=bravo
    )
    now = timezone.now()
    maintenance_window_create(
        service=service,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        reason="Bravo maintenance",
        by=person,
    )
    declare(service, "P2", title="Bravo outage", by=person)
    user_report_create(
        service=service, title="Bravo report", description="", severity="", by=person
    )
    return bravo


@pytest.fixture
def browser(responder, service, bravo) -> Client:
    declare(service, "P2", title="Our outage", by=responder)
    return staff_client(responder)


@pytest.fixture
def ours(browser, responder, service) -> None:
    """Platform's own things, whose change pages the responder opens."""
    ContactMethodFactory(user=responder)
    schedule_create(
        team=service.team,
        name="Primary",
        time_zone="UTC",
        layers=[
            LayerInput(
                name="Weekly",
                start_date=timezone.now().date(),
                handoff_time=timezone.now().time().replace(microsecond=0),
                members=[responder],
                shift_count=1,
                shift_unit="weeks",
            )
        ],
    )
    EscalationPolicy.objects.create(name="SOP", team=service.team)
    integration_create(name="Hook", kind="generic", service=service)
    Channel.objects.create(
        name="#ops", kind=Kind.SLACK, address="https://example.com/o", team=service.team
    )


def admin_pages(user: User) -> list[str]:
    """Return the changelist and add page of every model `user` may see."""
    request = type("Request", (), {"user": user})()
    pages = []
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        if model_admin.has_view_permission(request):
            pages.append(base)
        if model_admin.has_add_permission(request):
            pages.append(f"{base}add/")
    return pages


def test_no_admin_page_names_another_teams_things(browser, responder):
    # Every view permission too: a page the group does not open must not leak
    # to whoever is granted more.
    responder.user_permissions.add(
        *Permission.objects.filter(
            codename__startswith="view_",
            content_type__app_label__in=["incidents", "escalation", "notifications"],
        )
    )
    responder = User.objects.get(pk=responder.pk)  # no cached permissions
    pages = admin_pages(responder)
    assert "/admin/incidents/incident/" in pages
    assert "/admin/incidents/maintenancewindow/add/" in pages

    leaks = {}
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        text = response.content.decode().lower()
        if NEEDLE in text:
            at = text.index(NEEDLE)
            leaks[url] = text[max(0, at - 80) : at + 40]

    assert leaks == {}


def test_no_change_page_of_the_teams_things_names_another_teams(
    browser, responder, ours
):
    request = type("Request", (), {"user": responder})()
    opened = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        first = model_admin.get_queryset(request).first()
        if first is None:
            continue
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/{first.pk}/change/"
        response = browser.get(url)
        assert response.status_code == 200, url
        assert NEEDLE not in response.content.decode().lower(), url
        opened.append(meta.model_name)

    assert {"incident", "schedule", "escalationpolicy", "channel"} <= set(opened)


def test_an_incident_page_offers_only_the_teams_services(browser, responder):
    incident = Incident.objects.get(title="Our outage")

    page = browser.get(f"/admin/incidents/incident/{incident.pk}/change/")

    assert page.status_code == 200
    assert NEEDLE not in page.content.decode().lower()


@pytest.mark.parametrize("field", ["service", "affected_services"])
def test_autocomplete_finds_only_the_teams_services(browser, field):
    response = browser.get(
        "/admin/autocomplete/",
        {
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": field,
            "term": "",
        },
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Website"]


def test_autocomplete_of_team_members_is_not_offered_to_responders(browser):
    response = browser.get(
        "/admin/autocomplete/",
        {
            "app_label": "incidents",
            "model_name": "teammembership",
            "field_name": "user",
            "term": "bravo",
        },
    )

    assert response.status_code == 403


def test_another_teams_service_cannot_be_an_affected_service(browser, bravo):
    incident = Incident.objects.get(title="Our outage")
    theirs = bravo.services.get()
    url = f"/admin/incidents/incident/{incident.pk}/change/"
    form = {
        "title": incident.title,
        "severity": incident.severity_id,
        "service": incident.service_id,
        "category": incident.category,
        "detection_source": incident.detection_source,
        "description": "",
        "users_affected": "",
        "started_at_0": incident.started_at.date().isoformat(),
        "started_at_1": incident.started_at.time().strftime("%H:%M:%S"),
        "root_cause": "",
        "resolution_type": "",
        "affected_services": [theirs.pk],
        **inline_management_forms(),
    }

    response = browser.post(url, form)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["affected_services"]
    assert "Select a valid choice" in errors["affected_services"][0]
    assert not incident.affected_services.exists()


def inline_management_forms() -> dict[str, int]:
    prefixes = ["roles", "timeline", "alert_events", "deliveries"]
    return {
        f"{prefix}-{key}": value
        for prefix in prefixes
        for key, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
    }


def test_reporting_a_problem_in_the_admin_needs_the_right_to_declare(
    service, responder
):
    browser = staff_client(responder)
    responder.groups.clear()
    responder.user_permissions.add(Permission.objects.get(codename="view_alertevent"))

    page = browser.get("/admin/incidents/alertevent/report/")
    sent = browser.post(
        "/admin/incidents/alertevent/report/",
        {"service": service.pk, "title": "Broken", "description": ""},
    )

    assert (page.status_code, sent.status_code) == (403, 403)
