"""The verification checklist that guards resolve, on every path to resolved."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from incidents.models import (
    Incident,
    IncidentVerificationItem,
    SeverityLevel,
    VerificationItem,
)
from incidents.services import (
    incident_acknowledge,
    incident_assign_role,
    incident_change_severity,
    incident_transition,
    integration_create,
)
from incidents.services.checklists import (
    verification_item_tick,
    verification_items_ensure,
)
from incidents.tasks import ingest_process_task
from incidents.timeline_kinds import (
    RESOLVE_HELD,
    STATUS_CHANGED,
    VERIFICATION_OVERRIDDEN,
    VERIFICATION_TICKED,
    VERIFICATION_UNTICKED,
)
from notifications.models import ContactMethod
from notifications.services import action_links_issue
from tests.concurrency import in_threads
from tests.conftest import api_client
from tests.factories import declare, verify
from tests.incidents.ingest_helpers import fixture, post_json
from tests.openapi import assert_described

S = Incident.Status
PROTOCOL_ITEMS = [
    "Functionality restored",
    "Monitoring shows healthy",
    "Users can access system",
    "No new errors in logs",
    "Performance acceptable",
    "No side effects observed",
]


def url(incident: Incident, tail: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/{tail}"


def open_labels(incident: Incident) -> list[str]:
    return list(
        incident.verification_items.filter(checked_at__isnull=True).values_list(
            "label", flat=True
        )
    )


def tick_all_but(incident: Incident, left: int) -> None:
    items = verification_items_ensure(incident=incident)
    for item in items[: len(items) - left]:
        verification_item_tick(incident=incident, item_id=item.pk, by=None)


# --- The items, per severity ---------------------------------------------------------


@pytest.mark.django_db
def test_every_severity_checks_the_protocols_six_items_and_p0_p1_require_them():
    for severity in SeverityLevel.objects.all():
        labels = list(severity.verification_items.values_list("label", flat=True))
        assert labels == PROTOCOL_ITEMS
    required = SeverityLevel.objects.filter(verification_required=True)
    assert sorted(required.values_list("code", flat=True)) == ["P0", "P1"]


def test_an_incident_reads_its_severitys_items_all_open(api, incident):
    response = api.get(url(incident, "verification/"))

    assert response.status_code == 200
    body = response.json()
    assert body["required_to_resolve"] is True
    assert body["complete"] is False
    assert [i["label"] for i in body["items"]] == PROTOCOL_ITEMS
    assert not any(i["checked"] for i in body["items"])


def test_items_are_edited_per_severity_and_copied_when_first_needed(service):
    p1 = SeverityLevel.objects.get(code="P1")
    VerificationItem.objects.filter(severity=p1).exclude(
        label="Functionality restored"
    ).delete()
    VerificationItem.objects.create(severity=p1, label="Payments settle", position=9)
    p2_before = list(
        VerificationItem.objects.filter(severity="P2").values_list("label", flat=True)
    )

    incident = declare(service, "P1")
    labels = [i.label for i in verification_items_ensure(incident=incident)]
    VerificationItem.objects.create(severity=p1, label="Added later", position=10)

    assert labels == ["Functionality restored", "Payments settle"]
    assert [i.label for i in verification_items_ensure(incident=incident)] == labels
    assert p2_before == PROTOCOL_ITEMS


# --- Ticking --------------------------------------------------------------------------


def test_ticking_and_unticking_are_on_the_timeline(api, incident, responder):
    first, second = verification_items_ensure(incident=incident)[:2]

    ticked = api.post(url(incident, f"verification/{first.pk}/tick/"))
    api.post(url(incident, f"verification/{second.pk}/tick/"))
    unticked = api.post(url(incident, f"verification/{second.pk}/untick/"))

    assert ticked.status_code == 200
    item = ticked.json()["items"][0]
    assert (item["checked"], item["checked_by"]["username"]) == (True, "responder")
    assert unticked.json()["items"][1]["checked"] is False
    events = incident.timeline.filter(
        kind__in=[
            VERIFICATION_TICKED,
            VERIFICATION_UNTICKED,
        ]
    ).order_by("id")
    assert [(e.kind, e.data["label"], e.actor) for e in events] == [
        (VERIFICATION_TICKED, "Functionality restored", responder),
        (VERIFICATION_TICKED, "Monitoring shows healthy", responder),
        (VERIFICATION_UNTICKED, "Monitoring shows healthy", responder),
    ]


def test_ticking_a_ticked_item_again_changes_nothing(api, incident):
    item = verification_items_ensure(incident=incident)[0]
    api.post(url(incident, f"verification/{item.pk}/tick/"))
    again = api.post(url(incident, f"verification/{item.pk}/tick/"))

    assert again.status_code == 200
    assert incident.timeline.filter(kind=VERIFICATION_TICKED).count() == 1


def test_the_last_tick_says_verification_is_complete(incident):
    verify(incident)
    last = incident.timeline.filter(kind=VERIFICATION_TICKED).last()
    assert last.data["complete"] is True
    assert last.message.endswith("— verification complete")


def test_a_closed_incident_keeps_its_verification(api, incident, responder):
    verify(incident)
    incident_transition(incident=incident, to=S.RESOLVED, by=responder)
    incident_transition(incident=incident, to=S.CLOSED, by=responder)
    item = incident.verification_items.first()

    response = api.post(url(incident, f"verification/{item.pk}/untick/"))

    assert response.status_code == 409
    assert response.json()["code"] == "checklist_state"
    assert incident.verification_items.filter(checked_at__isnull=True).count() == 0


# --- The guard on every path ----------------------------------------------------------


def test_resolving_a_p1_with_open_items_answers_409_listing_them(api, incident):
    tick_all_but(incident, left=2)

    response = api.post(url(incident, "resolve/"), {}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "verification_incomplete"
    assert [i["label"] for i in body["open_items"]] == PROTOCOL_ITEMS[-2:]
    assert "Performance acceptable" in body["detail"]
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == (S.TRIGGERED, None)


def test_the_transition_endpoint_refuses_the_same_way(api, incident):
    response = api.post(
        url(incident, "transition/"), {"status": "resolved"}, format="json"
    )

    assert response.status_code == 409
    assert len(response.json()["open_items"]) == 6
    assert Incident.objects.get(pk=incident.pk).status == S.TRIGGERED


def test_once_every_item_is_ticked_the_p1_resolves(api, incident):
    for item in verification_items_ensure(incident=incident):
        api.post(url(incident, f"verification/{item.pk}/tick/"))

    response = api.post(url(incident, "resolve/"), {"reason": "fixed"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"


@pytest.mark.parametrize("code", ["P2", "P3"])
def test_p2_and_p3_resolve_with_their_items_open(api, service, code):
    incident = declare(service, code)

    response = api.post(url(incident, "resolve/"), {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert not incident.timeline.filter(kind=VERIFICATION_OVERRIDDEN).exists()


def test_the_severity_setting_puts_p2_under_the_guard(service, responder, admin_user):
    staff = api_client(admin_user)
    changed = staff.patch(
        "/api/v1/severities/P2/", {"verification_required": True}, format="json"
    )
    incident = declare(service, "P2")

    refused = api_client(responder).post(url(incident, "resolve/"), {}, format="json")

    assert changed.json()["verification_required"] is True
    assert refused.status_code == 409


def test_the_admin_resolve_action_refuses_with_the_open_items(incident, admin_user):
    browser = Client()
    browser.force_login(admin_user)

    response = browser.post(
        "/admin/incidents/incident/",
        {"action": "resolve", "_selected_action": [incident.pk]},
    )

    (message,) = get_messages(response.wsgi_request)
    assert message.level_tag == "warning"
    assert "still open: Functionality restored; Monitoring shows healthy" in str(
        message
    )
    assert Incident.objects.get(pk=incident.pk).status == S.TRIGGERED


@pytest.fixture
def links(incident, responder):
    ContactMethod.objects.create(
        user=responder, kind="sms", address="+14155550100", verified_at=timezone.now()
    )
    return action_links_issue(incident=incident, user=responder)


def test_a_resolve_link_shows_what_is_left_and_stays_unspent(client, incident, links):
    path = links.resolve_url.removeprefix(django_settings.VIGIL_BASE_URL)

    refused = client.post(path)
    verify(incident)
    resolved = client.post(path)

    assert refused.status_code == 409
    assert "still open: Functionality restored" in refused.content.decode()
    assert resolved.status_code == 200
    assert Incident.objects.get(pk=incident.pk).status == S.RESOLVED


def sms(client: Client, body: str, settings) -> str:
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    params = {"From": "+14155550100", "Body": body}
    address = django_settings.VIGIL_BASE_URL + "/notifications/twilio/sms/"
    signature = RequestValidator("twilio-token").compute_signature(address, params)
    return client.post(
        "/notifications/twilio/sms/",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    ).content.decode()


def test_an_sms_resolve_answers_with_what_is_left(client, incident, links, settings):
    tick_all_but(incident, left=1)

    answer = sms(client, f"RES {links.code}", settings)
    verify(incident)
    again = sms(client, f"RES {links.code}", settings)

    assert "still open: No side effects observed" in answer
    assert f"{incident.public_id} resolved" in again


# --- Alerts that clear by themselves --------------------------------------------------


@pytest.fixture
def pd(service):
    return integration_create(name="Nagios", kind="pagerduty", service=service)


def alert(pd, action: str, severity: str = "critical") -> None:
    body = {
        "routing_key": pd[1],
        "dedup_key": "db/disk",
        "event_action": action,
        "payload": {"summary": "Disk full", "source": "db", "severity": severity},
    }
    assert post_json("/v2/enqueue", body).status_code == 202
    ingest_process_task(integration_id=pd[0].pk)


def test_an_auto_resolve_moves_a_p1_being_worked_on_to_monitoring(pd, responder):
    alert(pd, "trigger")
    incident = Incident.objects.get()
    incident_transition(incident=incident, to=S.INVESTIGATING, by=responder)

    alert(pd, "resolve")

    incident.refresh_from_db()
    assert incident.status == S.MONITORING
    held = incident.timeline.get(kind=RESOLVE_HELD)
    assert held.data["open_items"] == PROTOCOL_ITEMS
    assert "needs verification first" in held.message
    moved = incident.timeline.filter(kind=STATUS_CHANGED).last()
    assert moved.data["to"] == S.MONITORING
    assert moved.data["reason"].endswith("; resolve after verification")


def test_an_auto_resolve_leaves_an_unacknowledged_p1_triggered(pd):
    alert(pd, "trigger")
    alert(pd, "resolve")

    incident = Incident.objects.get()
    assert (incident.status, incident.acknowledged_at) == (S.TRIGGERED, None)
    assert incident.timeline.filter(kind=RESOLVE_HELD).count() == 1


def test_an_auto_resolve_of_a_verified_p1_resolves_it(pd, responder):
    alert(pd, "trigger")
    incident = verify(Incident.objects.get())
    incident_acknowledge(incident=incident, by=responder)

    alert(pd, "resolve")

    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    assert not incident.timeline.filter(kind=RESOLVE_HELD).exists()


def test_an_auto_resolve_of_a_p3_is_not_held(pd):
    alert(pd, "trigger", severity="info")
    alert(pd, "resolve")
    incident = Incident.objects.get()
    assert (incident.severity_id, incident.status) == ("P3", S.RESOLVED)


# --- Override -------------------------------------------------------------------------


def test_the_incident_commander_overrides_with_a_reason_on_the_timeline(
    api, incident, responder
):
    incident_assign_role(
        incident=incident, role="incident_commander", user=responder, by=responder
    )
    tick_all_but(incident, left=2)

    response = api.post(
        url(incident, "resolve/"),
        {"override_verification": True, "reason": "customer confirmed by phone"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    override = incident.timeline.get(kind=VERIFICATION_OVERRIDDEN)
    assert override.actor == responder
    assert override.data == {
        "reason": "customer confirmed by phone",
        "open_items": PROTOCOL_ITEMS[-2:],
    }


@pytest.mark.parametrize("who", ["team_lead", "admin_user"])
def test_a_team_lead_or_superuser_may_override(request, incident, who):
    user = request.getfixturevalue(who)
    response = api_client(user).post(
        url(incident, "resolve/"),
        {"override_verification": True, "reason": "verified on the status page"},
        format="json",
    )
    assert response.status_code == 200


def test_an_override_is_refused_to_a_responder_who_is_not_commander(
    api, incident, team_lead
):
    incident_assign_role(
        incident=incident, role="incident_commander", user=team_lead, by=team_lead
    )
    before = incident.timeline.count()

    response = api.post(
        url(incident, "resolve/"),
        {"override_verification": True, "reason": "trust me"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "override_refused"
    assert Incident.objects.get(pk=incident.pk).status == S.TRIGGERED
    assert incident.timeline.count() == before


def test_an_override_needs_a_reason(incident, team_lead):
    response = api_client(team_lead).post(
        url(incident, "resolve/"), {"override_verification": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert not incident.timeline.filter(kind=VERIFICATION_OVERRIDDEN).exists()


# --- Severity changes and reopening ---------------------------------------------------


def test_a_severity_change_adds_the_new_items_and_keeps_the_ticked(incident, responder):
    VerificationItem.objects.create(severity_id="P0", label="Exec briefed", position=7)
    VerificationItem.objects.filter(
        severity="P0", label="No new errors in logs"
    ).delete()
    tick_all_but(incident, left=2)  # "No new errors in logs" is ticked

    incident_change_severity(
        incident=incident, severity=SeverityLevel.objects.get(code="P0"), by=responder
    )

    labels = list(incident.verification_items.values_list("label", flat=True))
    assert "No new errors in logs" in labels
    assert "Exec briefed" in labels
    assert open_labels(incident) == [
        "Performance acceptable",
        "No side effects observed",
        "Exec briefed",
    ]


def test_a_severity_change_drops_open_items_the_new_severity_lacks(incident, responder):
    verification_items_ensure(incident=incident)
    VerificationItem.objects.filter(
        severity="P2", label="Users can access system"
    ).delete()

    incident_change_severity(
        incident=incident, severity=SeverityLevel.objects.get(code="P2"), by=responder
    )

    assert "Users can access system" not in open_labels(incident)
    assert len(open_labels(incident)) == 5


def test_reopening_a_resolved_incident_opens_its_items_again(incident, responder):
    verify(incident)
    incident_transition(incident=incident, to=S.RESOLVED, by=responder)

    incident_transition(incident=incident, to=S.INVESTIGATING, by=responder)

    assert open_labels(incident) == PROTOCOL_ITEMS


# --- Scoping, garbage, schema ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "tail"),
    [("get", "verification/"), ("post", "verification/1/tick/"),
     ("post", "verification/1/untick/"), ("post", "resolve/")],
)  # fmt: skip
def test_another_teams_incident_is_404(outsider, incident, method, tail):
    response = getattr(api_client(outsider), method)(url(incident, tail))
    assert response.status_code == 404
    assert Incident.objects.get(pk=incident.pk).status == S.TRIGGERED


def test_another_incidents_item_is_refused(api, incident, service):
    other = declare(service, "P1")
    item = verification_items_ensure(incident=other)[0]

    response = api.post(url(incident, f"verification/{item.pk}/tick/"))

    assert response.status_code == 400
    assert response.json()["field"] == "item"
    assert not IncidentVerificationItem.objects.filter(checked_at__isnull=False)


@pytest.mark.parametrize(
    "tail",
    ["verification/abc/tick/", "verification/99999999999999999999/tick/",
     "verification/-1/tick/", "verification/0/untick/"],
)  # fmt: skip
def test_no_item_id_produces_a_500(api, incident, tail):
    assert api.post(url(incident, tail)).status_code in (400, 404)


@pytest.mark.parametrize(
    "body",
    [None, [], "text", 42, {"override_verification": "maybe"},
     {"reason": ["x"]}, {"reason": "nul\x00byte"}, {"unknown": 1},
     {"override_verification": True, "reason": "x" * 10_000}],
)  # fmt: skip
def test_no_resolve_body_produces_a_500(api, incident, body):
    response = api.post(url(incident, "resolve/"), body, format="json")
    assert response.status_code < 500
    assert Incident.objects.get(pk=incident.pk).status == S.TRIGGERED


def test_the_schema_describes_the_409_body_of_resolve_and_transition(api, incident):
    verify(incident)
    item = incident.verification_items.first()
    api.post(url(incident, f"verification/{item.pk}/untick/"))
    for tail, body in [("resolve/", {}), ("transition/", {"status": "resolved"})]:
        answer = api.post(url(incident, tail), body, format="json")

        assert answer.status_code == 409
        assert answer.json()["open_items"] == [{"id": item.pk, "label": item.label}]
        path = f"/api/v1/incidents/{{public_id}}/{tail}"
        assert_described(path, "post", 409, answer.json())


def test_the_verification_answers_match_the_schema(api, incident):
    item = verification_items_ensure(incident=incident)[0]
    answer = api.post(url(incident, f"verification/{item.pk}/tick/"))
    path = "/api/v1/incidents/{public_id}/verification/{item_id}/tick/"
    assert_described(path, "post", 200, answer.json())


def test_alertmanager_resolved_holds_an_acknowledged_p1_in_monitoring(
    service, responder
):
    am = integration_create(name="Prometheus", kind="alertmanager", service=service)
    body = fixture("alertmanager-webhook.json")

    def send() -> None:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {am[1]}"}
        assert post_json("/ingest/alertmanager/", body, **auth).status_code == 202
        ingest_process_task(integration_id=am[0].pk)

    send()
    incident = Incident.objects.get()
    incident_acknowledge(incident=incident, by=responder)
    body["status"] = body["alerts"][0]["status"] = "resolved"
    send()

    incident.refresh_from_db()
    assert (incident.severity.verification_required, incident.status) == (
        True,
        S.MONITORING,
    )
    assert incident.timeline.filter(kind=RESOLVE_HELD).count() == 1


def test_an_admin_adds_an_item_to_one_severity(service, admin_user):
    browser = Client()
    browser.force_login(admin_user)

    response = browser.post(
        "/admin/incidents/verificationitem/add/",
        {"severity": "P1", "label": "Payments settle", "position": 7},
    )

    assert response.status_code == 302
    p1 = verification_items_ensure(incident=declare(service, "P1"))
    p2 = verification_items_ensure(incident=declare(service, "P2"))
    assert [i.label for i in p1] == [*PROTOCOL_ITEMS, "Payments settle"]
    assert [i.label for i in p2] == PROTOCOL_ITEMS


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_first_reads_copy_the_items_once(service):
    incident = declare(service, "P1")

    errors = in_threads(5, lambda n: verification_items_ensure(incident=incident))

    assert errors == []
    assert open_labels(incident) == PROTOCOL_ITEMS
