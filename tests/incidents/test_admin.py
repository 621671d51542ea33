from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from incidents.models import Incident, Integration, SeverityLevel
from incidents.services import incident_acknowledge
from incidents.timeline_kinds import ACKNOWLEDGED
from tests.factories import (
    MembershipFactory,
    ServiceFactory,
    core_timeline,
    declare,
    verify,
)

CHANGELIST = "/admin/incidents/incident/"


@pytest.fixture
def admin_user(team) -> User:
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    MembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def browser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_changelist_shows_severity_badges_and_filters(browser, service):
    incident = declare(service, "P0", title="Bot offline")
    declare(ServiceFactory(slug="bot"), "P3")
    page = browser.get(CHANGELIST).content.decode()

    assert incident.public_id in page
    assert re.search(r'background:#b91c1c[^>]*title="Critical">P0</span>', page)
    filters = [f.strip() for f in re.findall(r"<summary>\s*(By [^<]+)</summary>", page)]
    assert filters == [
        "By status",
        "By severity",
        "By service",
        "By team",
        "By is drill",
    ]


def test_search_by_public_id_and_title(browser, service):
    first = declare(service, title="Database failover")
    declare(service, title="Slow pages")
    page = browser.get(CHANGELIST, {"q": first.public_id}).content.decode()
    assert "Database failover" in page
    assert "Slow pages" not in page
    page = browser.get(CHANGELIST, {"q": "slow"}).content.decode()
    assert "Slow pages" in page
    assert "Database failover" not in page


def test_filter_by_severity_and_drill(browser, service):
    declare(service, "P0", title="Real outage")
    declare(service, "P3", title="Drill typo", is_drill=True)
    page = browser.get(CHANGELIST, {"severity__code__exact": "P3"}).content.decode()
    assert "Drill typo" in page
    assert "Real outage" not in page
    page = browser.get(CHANGELIST, {"is_drill__exact": "1"}).content.decode()
    assert "Drill typo" in page
    assert "Real outage" not in page


def run_action(browser: Client, action: str, incidents: list[Incident]) -> str:
    response = browser.post(
        CHANGELIST,
        {"action": action, "_selected_action": [i.pk for i in incidents]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_bulk_acknowledge_goes_through_the_service(browser, service, responder):
    fresh = declare(service)
    done = declare(service)
    incident_acknowledge(incident=done, by=responder)

    page = run_action(browser, "acknowledge", [fresh, done])

    fresh.refresh_from_db()
    assert fresh.status == "acknowledged"
    event = fresh.timeline.get(kind=ACKNOWLEDGED)
    assert (event.via, event.actor.username) == ("admin", "boss")
    assert f"Acknowledged: {fresh.public_id}" in page
    assert (
        f"{done.public_id}: incident {done.public_id} is already acknowledged" in page
    )


def test_bulk_resolve(browser, service):
    incident = verify(declare(service))
    run_action(browser, "resolve", [incident])
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_assign_me_as_incident_commander(browser, service, admin_user):
    incident = declare(service)
    run_action(browser, "assign_me_commander", [incident])
    assignment = incident.role_assignments.get()
    assert (assignment.role, assignment.user) == ("incident_commander", admin_user)


def test_change_page_shows_roles_and_a_read_only_timeline(browser, service):
    incident = declare(service, title="Checkout broken")
    run_action(browser, "assign_me_commander", [incident])
    page = browser.get(f"{CHANGELIST}{incident.pk}/change/").content.decode()
    assert "Incident Commander" in page
    assert "Incident declared: P1 High" in page
    assert "Download Markdown" in page
    assert 'name="timeline-0-message"' not in page  # not editable


def test_timeline_download(browser, service):
    incident = declare(service, title="Checkout broken")
    response = browser.get(f"{CHANGELIST}{incident.pk}/timeline.md")
    assert response.status_code == 200
    assert response.content.decode().startswith("# Incident: Checkout broken")


def test_declare_from_the_admin_form(browser, service):
    response = browser.post(
        f"{CHANGELIST}add/",
        {
            "title": "Payments API failing",
            "severity": "P1",
            "service": service.pk,
            "category": "api_integration",
            "detection_source": "user_report",
            "started_at_0": "2026-01-02",
            "started_at_1": "10:00:00",
            "detected_at_0": "2026-01-02",
            "detected_at_1": "10:05:00",
            "resolution_type": "",
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
            "timeline-TOTAL_FORMS": "0",
            "timeline-INITIAL_FORMS": "0",
            "alert_events-TOTAL_FORMS": "0",
            "alert_events-INITIAL_FORMS": "0",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert re.fullmatch(r"INC-\d{4}-\d\d-\d\d-001", incident.public_id)
    created = core_timeline(incident).get()
    assert (created.kind, created.via) == ("created", "admin")


def test_severity_change_from_the_change_form_is_on_the_timeline(browser, service):
    incident = declare(service, "P2", title="Slow")
    page = browser.get(f"{CHANGELIST}{incident.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "severity": "P1",
            "started_at_0": incident.started_at.strftime("%Y-%m-%d"),
            "started_at_1": incident.started_at.strftime("%H:%M:%S"),
            "affected_services": [],
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
            "timeline-TOTAL_FORMS": "1",
            "timeline-INITIAL_FORMS": "1",
            "alert_events-TOTAL_FORMS": "0",
            "alert_events-INITIAL_FORMS": "0",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        }
    )
    data.pop("started_at", None)
    response = browser.post(f"{CHANGELIST}{incident.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident.refresh_from_db()
    assert incident.severity_id == "P1"
    assert incident.timeline.filter(kind="severity_changed", via="admin").exists()


def test_staff_see_only_their_teams_incidents(service, responder):
    theirs = declare(ServiceFactory(slug="bot"), title="Other team's outage")
    mine = declare(service, title="My outage")
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client = Client()
    client.force_login(responder)

    page = client.get(CHANGELIST).content.decode()
    assert mine.title in page
    assert theirs.title not in page
    assert client.get(f"{CHANGELIST}{theirs.pk}/change/").status_code == 302
    assert client.get(f"{CHANGELIST}{theirs.pk}/timeline.md").status_code == 404


def test_editing_the_matrix_keeps_the_previous_version(browser):
    url = "/admin/incidents/severitylevel/P1/change/"
    form = browser.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"ack_target": "00:30:00", "resolve_target": "04:00:00",
                 "update_cadence": "02:00:00", "revisions-TOTAL_FORMS": "0",
                 "revisions-INITIAL_FORMS": "0"})  # fmt: skip
    response = browser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    p1 = SeverityLevel.objects.get(code="P1")
    assert p1.ack_target.total_seconds() == 1800
    assert p1.version == 2
    assert p1.revisions.get().values["ack_target"] == 3600.0


def browser_form_data(browser: Client, url: str) -> dict[str, object]:
    """Return what a browser would post for the form at `url`, unchanged."""
    form = browser.get(url).context["adminform"].form
    data: dict[str, object] = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value is None:
            continue
        data[name] = (
            field.prepare_value(value) if hasattr(field, "prepare_value") else value
        )
    return data


def test_adding_an_integration_shows_its_key_once(browser, service):
    url = "/admin/incidents/integration/add/"
    data = browser_form_data(browser, url)
    data.update({"name": "Prometheus", "kind": "alertmanager", "service": service.pk})
    response = browser.post(url, data, follow=True)
    page = response.content.decode()
    key = re.search(r"shown only now, copy it\): ([0-9a-f]{32})", page).group(1)
    integration = Integration.objects.get()
    assert integration.key_hash == Integration.hash_key(key)
    assert (
        key
        not in browser.get(
            f"/admin/incidents/integration/{integration.pk}/change/"
        ).content.decode()
    )


def test_a_responder_with_the_responders_group_can_work_an_incident(service, responder):
    from django.contrib.auth.models import Group

    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.groups.add(Group.objects.get(name="Responders"))
    incident = declare(service)
    client = Client()
    client.force_login(responder)

    assert client.get(CHANGELIST).status_code == 200
    run_action(client, "acknowledge", [incident])
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert client.get("/admin/incidents/severitylevel/P0/change/").status_code == 200
    assert (
        client.post("/admin/incidents/severitylevel/P0/change/", {}).status_code == 403
    )


def test_view_only_staff_cannot_run_actions(service, responder):
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.groups.clear()
    responder.user_permissions.add(Permission.objects.get(codename="view_incident"))
    incident = declare(service)
    client = Client()
    client.force_login(responder)

    page = client.get(CHANGELIST).content.decode()
    assert 'value="acknowledge"' not in page
    client.post(
        CHANGELIST, {"action": "acknowledge", "_selected_action": [incident.pk]}
    )
    incident.refresh_from_db()
    assert incident.status == "triggered"
