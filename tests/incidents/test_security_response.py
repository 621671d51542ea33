"""The security response: runbooks follow the incident's service, the
security phases go in order, evidence is kept as an append-only chain of
custody, and security incidents always need a review."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from incidents.exceptions import EvidenceAppendOnlyError
from incidents.models import (
    CustodyTransfer,
    EvidenceRecord,
    Incident,
    IncidentRole,
    IncidentRunbookStep,
    SeverityLevel,
)
from incidents.selectors import incident_pir_required_reasons
from incidents.services import incident_assign_role
from incidents.services.runbook_setup import runbook_create, runbook_update
from incidents.services.security import custody_transfer_add, evidence_record_add
from incidents.timeline_kinds import (
    CUSTODY_TRANSFERRED,
    EVIDENCE_RECORDED,
    PHASE_ORDER_OVERRIDDEN,
    RUNBOOK_ATTACHED,
    SERVICE_CHANGED,
)
from tests.conftest import api_client, staff_client
from tests.factories import MembershipFactory, ServiceFactory, declare
from tests.incidents.admin_forms import CHANGE, admin_form

HASH = "a" * 64


def attached(incident: Incident) -> list[str]:
    return list(incident.runbooks.order_by("id").values_list("name", flat=True))


def security_incident(service, by: User) -> Incident:
    return declare(service, "P1", title="Web shell found", category="security", by=by)


def steps(incident: Incident, phase: str) -> list[IncidentRunbookStep]:
    return list(
        IncidentRunbookStep.objects.filter(incident=incident, phase=phase).order_by(
            "position"
        )
    )


def step_url(incident: Incident, step: IncidentRunbookStep, verb: str) -> str:
    return f"/api/v1/incidents/{incident.public_id}/runbook-steps/{step.pk}/{verb}/"


# --- Runbooks follow the incident's service --------------------------------


@pytest.fixture
def payments(service):
    """Another service of the same team, with a runbook of its own."""
    payments = ServiceFactory(name="Payments", slug="payments", team=service.team)
    runbook_create(
        name="Payments down",
        team=service.team,
        service=payments,
        steps=[{"text": "Call the payment provider"}],
    )
    return payments


def test_moving_an_incident_to_another_service_attaches_that_services_runbooks(
    api, service, payments, responder
):
    incident = declare(service, "P2", by=responder)
    assert "Payments down" not in attached(incident)

    response = api.patch(
        f"/api/v1/incidents/{incident.public_id}/",
        {"service": "payments"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["service"] == "payments"
    assert "Payments down" in attached(incident)
    moved = incident.timeline.get(kind=SERVICE_CHANGED)
    assert moved.data == {"from": "website", "to": "payments"}
    assert moved.actor == responder
    attach = incident.timeline.filter(kind=RUNBOOK_ATTACHED).last()
    assert attach.data["reason"] == "service payments"


def test_moving_back_and_forth_attaches_nothing_twice_and_keeps_the_snapshot(
    api, service, payments, responder
):
    incident = declare(service, "P2", by=responder)
    url = f"/api/v1/incidents/{incident.public_id}/"
    api.patch(url, {"service": "payments"}, format="json")
    runbook = incident.runbooks.get(name="Payments down").runbook
    runbook_update(runbook=runbook, steps=[{"text": "Edited later"}])

    api.patch(url, {"service": "website"}, format="json")
    api.patch(url, {"service": "payments"}, format="json")

    assert attached(incident).count("Payments down") == 1
    texts = incident.runbook_steps.filter(incident_runbook__name="Payments down")
    assert list(texts.values_list("text", flat=True)) == ["Call the payment provider"]
    assert incident.timeline.filter(kind=SERVICE_CHANGED).count() == 3


def test_an_incident_cannot_move_to_another_teams_service(api, service, responder):
    other = ServiceFactory(slug="elsewhere")
    MembershipFactory(team=other.team, user=responder)
    incident = declare(service, "P2", by=responder)

    response = api.patch(
        f"/api/v1/incidents/{incident.public_id}/",
        {"service": "elsewhere"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "service"
    incident.refresh_from_db()
    assert incident.service == service
    assert not incident.timeline.filter(kind=SERVICE_CHANGED).exists()


@pytest.mark.parametrize("garbage", [None, 7, ["payments"], {"slug": "x"}, "nope"])
def test_garbage_services_get_a_400(api, incident, garbage):
    response = api.patch(
        f"/api/v1/incidents/{incident.public_id}/", {"service": garbage}, format="json"
    )

    assert response.status_code == 400


def test_the_admin_moves_the_service_and_changes_the_category_with_runbooks(
    service, payments, team_lead
):
    client = staff_client(team_lead)
    incident = declare(service, "P2", by=team_lead)

    data = admin_form(client, incident, service=payments.pk, category="security")
    response = client.post(CHANGE.format(incident.pk), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert {"Payments down", "Security incident"} <= set(attached(incident))
    assert incident.timeline.filter(kind=SERVICE_CHANGED, via="admin").exists()


def test_the_admin_refuses_another_teams_service_in_the_form(service, team_lead):
    client = staff_client(team_lead)
    other = ServiceFactory(slug="elsewhere")
    MembershipFactory(team=other.team, user=team_lead)
    incident = declare(service, "P2", by=team_lead)

    response = client.post(
        CHANGE.format(incident.pk), admin_form(client, incident, service=other.pk)
    )

    assert response.status_code == 200
    assert "service" in response.context["adminform"].form.errors
    incident.refresh_from_db()
    assert incident.service == service


def test_raising_the_severity_in_the_admin_attaches_the_severitys_runbooks(
    service, team_lead
):
    runbook_create(
        name="Major incident",
        severity_at_least=SeverityLevel.objects.get(code="P0"),
        steps=[{"text": "Open the bridge"}],
    )
    client = staff_client(team_lead)
    incident = declare(service, "P2", by=team_lead)

    client.post(CHANGE.format(incident.pk), admin_form(client, incident, severity="P0"))

    assert "Major incident" in attached(incident)


# --- The security phases, in order ----------------------------------------


def test_a_security_incident_gets_the_security_runbook_in_its_five_phases(
    service, responder
):
    incident = security_incident(service, responder)

    assert "Security incident" in attached(incident)
    phases = list(
        incident.runbook_steps.filter(incident_runbook__name="Security incident")
        .order_by("position")
        .values_list("phase", flat=True)
    )
    assert list(dict.fromkeys(phases)) == [
        "contain",
        "assess",
        "preserve_evidence",
        "eradicate",
        "recover",
    ]


def test_a_later_phase_waits_for_the_earlier_phases_required_steps(
    api, service, responder
):
    incident = security_incident(service, responder)
    assess = steps(incident, "assess")[0]

    response = api.post(step_url(incident, assess, "tick"), {}, format="json")

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "phase_order"
    assert [s["id"] for s in body["open_steps"]] == [
        s.pk for s in steps(incident, "contain")
    ]
    assess.refresh_from_db()
    assert assess.state == "open"
    skipped = api.post(
        step_url(incident, assess, "skip"), {"reason": "not needed"}, format="json"
    )
    assert skipped.status_code == 409


def test_once_the_earlier_phases_are_done_the_next_one_opens(api, service, responder):
    incident = security_incident(service, responder)
    for step in steps(incident, "contain"):
        assert api.post(step_url(incident, step, "tick"), {}).status_code == 200
    first, *rest = steps(incident, "assess")

    assert api.post(step_url(incident, first, "tick")).status_code == 200
    # Preserving evidence still waits for the rest of the assessment.
    preserve = steps(incident, "preserve_evidence")[0]
    assert api.post(step_url(incident, preserve, "tick")).status_code == 409
    for step in rest:
        api.post(step_url(incident, step, "skip"), {"reason": "done elsewhere"})
    assert api.post(step_url(incident, preserve, "tick")).status_code == 200


def test_the_incident_commander_overrides_the_order_with_a_reason(
    api, service, responder
):
    incident = security_incident(service, responder)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    recover = steps(incident, "recover")[0]

    response = api.post(
        step_url(incident, recover, "tick"),
        {"override_reason": "restore service from the clean standby now"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "done"
    event = incident.timeline.get(kind=PHASE_ORDER_OVERRIDDEN)
    assert event.actor == responder
    assert event.data["reason"] == "restore service from the clean standby now"
    assert len(event.data["open_steps"]) == 9


def test_a_team_lead_may_override_and_a_plain_member_may_not(
    service, responder, team_lead
):
    incident = security_incident(service, responder)
    recover = steps(incident, "recover")[0]
    body = {"override_reason": "urgent"}

    refused = api_client(responder).post(step_url(incident, recover, "tick"), body)
    allowed = api_client(team_lead).post(step_url(incident, recover, "tick"), body)

    assert refused.status_code == 403
    assert refused.json()["code"] == "override_refused"
    assert allowed.status_code == 200
    assert incident.timeline.filter(kind=PHASE_ORDER_OVERRIDDEN).count() == 1


def test_a_blank_override_reason_is_no_override(api, service, responder, team_lead):
    incident = security_incident(service, responder)
    recover = steps(incident, "recover")[0]

    response = api_client(team_lead).post(
        step_url(incident, recover, "tick"), {"override_reason": "   "}, format="json"
    )

    assert response.status_code == 409


@pytest.mark.parametrize("garbage", [None, ["x"], {"a": 1}, "x" * 2001])
def test_garbage_override_reasons_get_a_400(api, service, responder, garbage):
    incident = security_incident(service, responder)
    recover = steps(incident, "recover")[0]

    response = api.post(
        step_url(incident, recover, "tick"), {"override_reason": garbage}, format="json"
    )

    assert response.status_code == 400


def test_the_admin_keeps_the_order_and_takes_a_leads_override(
    service, responder, team_lead
):
    incident = security_incident(service, responder)
    eradicate = steps(incident, "eradicate")[0]
    url = f"/admin/incidents/incident/{incident.pk}/runbook-steps/{eradicate.pk}/"

    member = staff_client(responder)
    page = member.post(url, {"verb": "tick"}, follow=True)
    assert "waits for the required steps" in page.content.decode()
    eradicate.refresh_from_db()
    assert eradicate.state == "open"

    staff_client(team_lead).post(
        url, {"verb": "tick", "override_reason": "attacker still active"}
    )
    eradicate.refresh_from_db()
    assert eradicate.state == "done"
    event = incident.timeline.get(kind=PHASE_ORDER_OVERRIDDEN)
    assert event.via == "admin"


def test_steps_without_a_security_phase_are_not_ordered(api, service, responder):
    incident = declare(service, "P1", category="database", by=responder)
    last = incident.runbook_steps.order_by("-position").first()

    assert api.post(step_url(incident, last, "tick")).status_code == 200


# --- Evidence and its chain of custody -------------------------------------


def evidence_url(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/evidence/{suffix}"


EVIDENCE = {
    "what": "Disk image of the web server",
    "location": "Sealed evidence bucket, object web-1.img",
    "hash": HASH,
    "collected_by": "Dana (forensics)",
    "collected_at": "2026-01-02T10:00:00Z",
}


def test_evidence_is_recorded_with_its_hash_holder_and_time(api, service, responder):
    incident = security_incident(service, responder)

    response = api.post(evidence_url(incident), EVIDENCE, format="json")

    assert response.status_code == 201, response.content
    record = response.json()
    assert record["hash_algorithm"] == "sha256"
    assert record["holder"] == "Dana (forensics)"
    assert record["recorded_by"] == "responder"
    assert record["transfers"] == []
    event = incident.timeline.get(kind=EVIDENCE_RECORDED)
    assert event.data["evidence"] == record["id"]
    assert HASH in event.message
    listed = api.get(evidence_url(incident)).json()
    assert [r["id"] for r in listed] == [record["id"]]


def test_custody_transfers_append_to_the_chain(api, service, responder):
    incident = security_incident(service, responder)
    record = api.post(evidence_url(incident), EVIDENCE, format="json").json()
    transfer = evidence_url(incident, f"{record['id']}/transfer/")

    first = api.post(transfer, {"to_holder": "Legal", "reason": "for counsel"})
    second = api.post(transfer, {"to_holder": "Police", "location": "Station 4"})

    assert first.status_code == second.status_code == 201
    chain = second.json()["transfers"]
    assert [(t["from_holder"], t["to_holder"]) for t in chain] == [
        ("Dana (forensics)", "Legal"),
        ("Legal", "Police"),
    ]
    assert second.json()["holder"] == "Police"
    assert incident.timeline.filter(kind=CUSTODY_TRANSFERRED).count() == 2


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_evidence_cannot_be_changed_or_deleted_through_the_api(
    api, service, responder, method
):
    incident = security_incident(service, responder)
    record = api.post(evidence_url(incident), EVIDENCE, format="json").json()

    response = getattr(api, method)(
        evidence_url(incident, f"{record['id']}/"), {"what": "nothing"}, format="json"
    )

    assert response.status_code == 405
    assert EvidenceRecord.objects.get().what == EVIDENCE["what"]


def test_evidence_and_transfers_refuse_updates_and_deletes_in_the_model(
    service, responder
):
    incident = security_incident(service, responder)
    record = evidence_record_add(
        incident=incident,
        what="Logs",
        location="Vault",
        hash=HASH,
        collected_by="Dana",
        by=responder,
    )
    transfer = custody_transfer_add(evidence=record, to_holder="Legal", by=responder)

    for row in (record, transfer):
        with pytest.raises(EvidenceAppendOnlyError):
            row.save()
        with pytest.raises(EvidenceAppendOnlyError):
            row.delete()
    with pytest.raises(EvidenceAppendOnlyError):
        EvidenceRecord.objects.filter(pk=record.pk).update(what="x")
    with pytest.raises(EvidenceAppendOnlyError):
        CustodyTransfer.objects.all().delete()
    assert EvidenceRecord.objects.get().what == "Logs"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hash": "not-hex"}, "hash"),
        ({"hash": "ab" * 16}, "hash"),
        ({"hash_algorithm": "md5", "hash": HASH}, "hash"),
        ({"hash_algorithm": "crc32"}, "hash_algorithm"),
        ({"what": "  "}, "what"),
        ({"collected_by": None}, "collected_by"),
        ({"collected_at": "2999-01-01T00:00:00Z"}, "collected_at"),
        ({"collected_at": "yesterday"}, "collected_at"),
        ({"location": ["x"]}, "location"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_garbage_evidence_gets_a_400_and_records_nothing(
    api, service, responder, change, field
):
    incident = security_incident(service, responder)

    response = api.post(evidence_url(incident), {**EVIDENCE, **change}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body or body.get("field") == field
    assert not EvidenceRecord.objects.exists()
    assert not incident.timeline.filter(kind=EVIDENCE_RECORDED).exists()


def test_garbage_transfers_get_a_400(api, service, responder):
    incident = security_incident(service, responder)
    record = api.post(evidence_url(incident), EVIDENCE, format="json").json()
    url = evidence_url(incident, f"{record['id']}/transfer/")

    for body in ({}, {"to_holder": ""}, {"to_holder": "x", "transferred_at": "2999"}):
        assert api.post(url, body, format="json").status_code == 400
    assert api.post(evidence_url(incident, "99999/transfer/"), {}).status_code == 404
    assert not CustodyTransfer.objects.exists()


def test_the_export_and_the_admin_show_the_chain_of_custody(api, service, responder):
    incident = security_incident(service, responder)
    record = api.post(evidence_url(incident), EVIDENCE, format="json").json()
    api.post(
        evidence_url(incident, f"{record['id']}/transfer/"), {"to_holder": "Legal"}
    )

    export = api.get(f"/api/v1/incidents/{incident.public_id}/timeline/export/")
    document = export.content.decode()
    assert "## Evidence and Chain of Custody" in document
    assert (
        f"E{record['id']}: Disk image of the web server — sha256 `{HASH}`" in document
    )
    assert "Dana (forensics) → Legal" in document

    page = staff_client(responder).get(CHANGE.format(incident.pk)).content.decode()
    assert "Disk image of the web server" in page
    assert "Dana (forensics) → Legal" in page


# --- A review is always required for security incidents ---------------------


def test_security_incidents_always_require_a_review(api, service, responder):
    quiet = declare(service, "P3", category="security", by=responder)
    other = declare(service, "P3", category="database", by=responder)

    assert incident_pir_required_reasons(incident=quiet) == [
        "security incidents always get a review"
    ]
    assert incident_pir_required_reasons(incident=other) == []
    body = api.get(f"/api/v1/incidents/{quiet.public_id}/").json()
    assert body["pir_required_reasons"] == ["security incidents always get a review"]


def test_the_severitys_own_rule_is_a_reason_too(service, responder):
    incident = declare(service, "P0", category="security", by=responder)

    reasons = incident_pir_required_reasons(incident=incident)

    assert reasons == [
        "severity P0 requires a review",
        "security incidents always get a review",
    ]
