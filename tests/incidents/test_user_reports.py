"""User reports (SOP: user reports and tickets): a person says something is wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Alert, AlertEvent, Incident
from incidents.tasks import ingest_process_task
from tests.conftest import api_client, in_responders
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory

URL = "/api/v1/reports/"
ADMIN_FORM = "/admin/incidents/alertevent/report/"
REPORT = {
    "service": "website",
    "title": "Checkout page is blank",
    "description": "Three customers wrote in since 10:00.",
}


def report(client, **changes: object):
    return client.post(URL, REPORT | changes)


def process_all() -> None:
    for event in AlertEvent.objects.filter(processed_at__isnull=True):
        ingest_process_task(event_id=event.pk)


def test_a_report_is_accepted_and_waits_for_the_worker(api, service, responder):
    response = report(api)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["source"] == "user_report"
    assert body["integration"] is None
    assert body["processed_at"] is None
    event = AlertEvent.objects.get(pk=body["id"])
    assert event.reported_by == responder
    assert event.service == service
    assert event.payload["description"] == REPORT["description"]
    assert not Incident.objects.exists()


def test_a_processed_report_opens_a_user_report_incident(api, service, responder):
    event_id = report(api).json()["id"]
    assert ingest_process_task(event_id=event_id) == 1

    incident = Incident.objects.get()
    assert incident.detection_source == "user_report"
    assert incident.title == "Checkout page is blank"
    assert incident.service == service
    assert incident.created_by == responder
    attached = incident.timeline.get(kind="alert_attached")
    assert attached.actor == responder
    assert attached.via == "user_report"
    alert = Alert.objects.get()
    assert (alert.incident, alert.integration, alert.source) == (
        incident,
        None,
        "user_report",
    )
    event = AlertEvent.objects.get(pk=event_id)
    assert event.incident == incident
    assert event.processed_at is not None


def test_processing_a_report_twice_opens_one_incident(api, service):
    event_id = report(api).json()["id"]
    ingest_process_task(event_id=event_id)
    assert ingest_process_task(event_id=event_id) == 0
    assert Incident.objects.count() == 1


def test_a_report_without_severity_opens_a_p2(api, service):
    report(api)
    process_all()
    assert Incident.objects.get().severity_id == "P2"
    assert Alert.objects.get().severity == "P2"


@pytest.mark.parametrize("severity", ["P0", "P1", "P3"])
def test_the_severity_given_in_a_report_is_used(api, service, severity):
    response = report(api, severity=severity)
    assert response.status_code == 202
    assert response.json()["payload"]["severity"] == severity
    process_all()
    assert Incident.objects.get().severity_id == severity


def test_two_reports_of_the_same_problem_open_two_incidents(api, service):
    report(api)
    report(api)
    process_all()
    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 2


def test_a_report_on_another_teams_service_is_400_and_stores_nothing(service, outsider):
    response = report(api_client(outsider))
    assert response.status_code == 400
    assert "service" in response.json()
    assert not AlertEvent.objects.exists()


def test_an_anonymous_report_is_401(service):
    response = report(api_client())
    assert response.status_code == 401
    assert not AlertEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"priority": "high"}, "priority"),
        ({"severity": "P9"}, "severity"),
        ({"title": ""}, "title"),
        ({"service": "nope"}, "service"),
    ],
)
def test_invalid_reports_are_400_naming_the_field(api, service, changes, field):
    response = report(api, **changes)
    assert response.status_code == 400
    assert field in response.json()
    assert not AlertEvent.objects.exists()


@pytest.fixture
def admin_user(team) -> User:
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    MembershipFactory(team=team, user=user)
    return user


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_form_shows_the_fields_of_a_report(admin_user, service):
    response = browser(admin_user).get(ADMIN_FORM)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Report a problem" in page
    for name in ("service", "title", "description", "severity"):
        assert f'name="{name}"' in page


def test_the_admin_form_files_a_report_that_opens_an_incident(admin_user, service):
    response = browser(admin_user).post(
        ADMIN_FORM,
        {
            "service": service.pk,
            "title": "Login loops back to the form",
            "description": "Reported on the phone.",
            "severity": "P1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/incidents/alertevent/"
    event = AlertEvent.objects.get()
    assert (event.source, event.reported_by) == ("user_report", admin_user)

    ingest_process_task(event_id=event.pk)
    incident = Incident.objects.get()
    assert incident.title == "Login loops back to the form"
    assert incident.detection_source == "user_report"
    assert incident.severity_id == "P1"
    assert incident.timeline.get(kind="alert_attached").actor == admin_user


def test_the_admin_form_offers_only_the_reporters_teams_services(service):
    staff = in_responders(
        MembershipFactory(
            team=TeamFactory(slug="bots"), user__username="staff", user__is_staff=True
        ).user
    )
    theirs = ServiceFactory(team=staff.teams.get(), slug="bot")
    client = browser(staff)

    refused = client.post(ADMIN_FORM, {"service": service.pk, "title": "x"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["service"]
    assert not AlertEvent.objects.exists()

    accepted = client.post(ADMIN_FORM, {"service": theirs.pk, "title": "Bot is mute"})
    assert accepted.status_code == 302
    assert AlertEvent.objects.get().service == theirs


def test_anonymous_visitors_are_sent_to_the_admin_login(service):
    response = Client().post(ADMIN_FORM, {"service": service.pk, "title": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not AlertEvent.objects.exists()
