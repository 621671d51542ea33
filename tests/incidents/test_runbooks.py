"""Runbooks attach themselves to incidents as checklists, as copies."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from incidents.exceptions import IncidentError, RunbookError, RunbookStepStateError
from incidents.models import (
    ExternalContact,
    Incident,
    IncidentRunbook,
    IncidentRunbookStep,
    Phase,
    Runbook,
    Service,
    SeverityLevel,
)
from incidents.services import (
    incident_change_severity,
    incident_transition,
    incident_update,
)
from incidents.services.runbook_setup import (
    external_contact_create,
    runbook_create,
    runbook_update,
)
from incidents.services.runbooks import (
    incident_runbook_attach,
    runbook_step_note,
    runbook_step_skip,
    runbook_step_tick,
    runbook_step_untick,
)
from incidents.timeline_kinds import (
    RUNBOOK_ATTACHED,
    RUNBOOK_STEP_DONE,
    RUNBOOK_STEP_NOTE,
    RUNBOOK_STEP_REOPENED,
    RUNBOOK_STEP_SKIPPED,
    SEVERITY_CHANGED,
)
from tests.concurrency import in_threads
from tests.factories import ServiceFactory, TeamFactory, declare

Category = Incident.Category
SEEDED = {
    "Site down (HTTP 500/503)": Category.SITE_DOWN,
    "Database failure": Category.DATABASE,
    "Performance degradation": Category.PERFORMANCE,
    "Failed deployment": Category.FAILED_DEPLOYMENT,
    "Security incident": Category.SECURITY,
    "Bot offline": Category.BOT_OFFLINE,
    "API integration failure": Category.API_INTEGRATION,
    "Configuration issue": Category.CONFIGURATION,
}


def severity(code: str) -> SeverityLevel:
    return SeverityLevel.objects.get(code=code)


def attached(incident: Incident) -> list[str]:
    return list(incident.runbooks.order_by("id").values_list("name", flat=True))


def p0_runbook(**fields: object) -> Runbook:
    return runbook_create(
        name="Major incident",
        severity_at_least=severity("P0"),
        steps=[{"text": "Page the incident commander"}, {"text": "Open the bridge"}],
        **fields,
    )


# --- The seeded runbooks ----------------------------------------------------


@pytest.mark.django_db
def test_the_sops_eight_runbooks_are_seeded_each_for_its_category():
    shared = Runbook.objects.filter(team=None)
    assert dict(shared.values_list("name", "category")) == SEEDED
    for runbook in shared:
        assert runbook.enabled
        assert runbook.steps.count() >= 5, runbook.name
        assert runbook.steps.filter(required=True).exists(), runbook.name


@pytest.mark.django_db
def test_the_security_runbook_goes_contain_assess_preserve_eradicate_recover():
    steps = Runbook.objects.get(name="Security incident").steps.order_by("position")
    phases = list(dict.fromkeys(steps.values_list("phase", flat=True)))
    assert phases == [
        Phase.CONTAIN,
        Phase.ASSESS,
        Phase.PRESERVE_EVIDENCE,
        Phase.ERADICATE,
        Phase.RECOVER,
    ]


@pytest.mark.django_db
def test_seeded_steps_name_no_particular_site():
    text = " ".join(
        f"{step.text} {step.commands}"
        for runbook in Runbook.objects.all()
        for step in runbook.steps.all()
    )
    for particular in ("/home/", "rundaverun", "gal-bot", "gal_bot", "wp-config"):
        assert particular not in text
    assert "<bot service>" in text  # placeholders for your own names instead


# --- Attaching --------------------------------------------------------------


def test_the_runbook_of_the_category_attaches_at_declaration(service, responder):
    incident = declare(service, "P2", category=Category.DATABASE, by=responder)

    assert attached(incident) == ["Database failure"]
    copy = incident.runbooks.get()
    assert copy.reason == "declared"
    assert copy.attached_by == responder
    source = Runbook.objects.get(name="Database failure").steps.order_by("position")
    steps = copy.steps.order_by("position")
    assert list(steps.values_list("text", "commands", "phase", "required")) == list(
        source.values_list("text", "commands", "phase", "required")
    )
    assert set(steps.values_list("state", flat=True)) == {"open"}
    event = incident.timeline.get(kind=RUNBOOK_ATTACHED)
    assert event.message.startswith("Runbook attached: Database failure (10 steps)")
    assert event.actor == responder


def test_an_incident_of_another_category_gets_none(service):
    assert attached(declare(service, "P0", category=Category.OTHER)) == []


def test_raising_p2_to_p0_picks_up_the_p0_runbooks_once(service, responder):
    p0_runbook()
    incident = declare(service, "P2", category=Category.SITE_DOWN)
    assert attached(incident) == ["Site down (HTTP 500/503)"]

    incident_change_severity(incident=incident, severity=severity("P0"), by=responder)
    incident_change_severity(incident=incident, severity=severity("P1"), by=responder)
    incident_change_severity(incident=incident, severity=severity("P0"), by=responder)

    assert attached(incident) == ["Site down (HTTP 500/503)", "Major incident"]
    assert incident.runbooks.get(name="Major incident").reason == "severity P0"
    assert incident.timeline.filter(kind=RUNBOOK_ATTACHED).count() == 2


def test_lowering_the_severity_keeps_what_is_attached(service, responder):
    p0_runbook()
    incident = declare(service, "P0")
    incident_change_severity(incident=incident, severity=severity("P3"), by=responder)
    assert attached(incident) == ["Major incident"]


def test_a_new_category_attaches_its_runbook(service, responder):
    incident = declare(service, "P1")
    incident_update(incident=incident, by=responder, category=Category.SECURITY)
    incident_update(incident=incident, by=responder, title="Leaked key")

    assert attached(incident) == ["Security incident"]
    assert incident.runbooks.get().reason == "category security"


@pytest.mark.parametrize(
    ("bounds", "matches"),
    [
        ({"severity_at_least": "P1"}, ["P0", "P1"]),
        ({"severity_at_most": "P2"}, ["P2", "P3"]),
        ({"severity_at_least": "P1", "severity_at_most": "P1"}, ["P1"]),
        ({}, ["P0", "P1", "P2", "P3"]),
    ],
)
def test_a_severity_range_attaches_within_its_bounds(service, bounds, matches):
    runbook_create(
        name="Ranged",
        steps=[{"text": "Look"}],
        **{field: severity(code) for field, code in bounds.items()},
    )
    got = [
        code for code in ("P0", "P1", "P2", "P3") if attached(declare(service, code))
    ]
    assert got == matches


def test_team_and_service_runbooks_attach_to_theirs_only(service, team):
    other_service = ServiceFactory(team=team)
    stranger = ServiceFactory(team=TeamFactory())
    runbook_create(name="Team's", team=team, steps=[{"text": "a"}])
    runbook_create(name="Service's", team=team, service=service, steps=[{"text": "b"}])

    assert attached(declare(service)) == ["Team's", "Service's"]
    assert attached(declare(other_service)) == ["Team's"]
    assert attached(declare(stranger)) == []


def test_a_runbook_for_a_service_belongs_to_its_team(service):
    with pytest.raises(RunbookError, match="must belong to that team"):
        runbook_create(name="Loose", service=service, steps=[{"text": "a"}])
    with pytest.raises(RunbookError, match="must belong to that team"):
        runbook_create(
            name="Loose", team=TeamFactory(), service=service, steps=[{"text": "a"}]
        )


def test_a_disabled_runbook_no_longer_attaches(service):
    runbook = p0_runbook()
    runbook_update(runbook=runbook, enabled=False)
    assert attached(declare(service, "P0")) == []


def test_editing_a_runbook_leaves_running_incidents_as_they_were(service):
    runbook = p0_runbook()
    incident = declare(service, "P0")

    runbook_update(runbook=runbook, steps=[{"text": "Something else entirely"}])
    runbook.delete()

    copy = incident.runbooks.get()
    assert copy.runbook is None
    assert copy.name == "Major incident"
    texts = list(copy.steps.order_by("position").values_list("text", flat=True))
    assert texts == ["Page the incident commander", "Open the bridge"]


def test_the_database_refuses_a_runbook_attached_twice(service):
    runbook = p0_runbook()
    incident = declare(service, "P0")
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRunbook.objects.create(incident=incident, runbook=runbook, name="x")


def test_a_runbook_attached_by_hand_once(service, responder):
    runbook = p0_runbook()
    incident = declare(service, "P3")

    incident_runbook_attach(incident=incident, runbook=runbook, by=responder)
    with pytest.raises(RunbookError, match="already attached"):
        incident_runbook_attach(incident=incident, runbook=runbook, by=responder)

    assert attached(incident) == ["Major incident"]
    assert incident.runbooks.get().reason == "attached by hand"


def test_another_teams_runbook_cannot_be_attached_by_hand(service, responder):
    theirs = runbook_create(name="Theirs", team=TeamFactory(), steps=[{"text": "x"}])
    with pytest.raises(RunbookError, match="belongs to team"):
        incident_runbook_attach(incident=declare(service), runbook=theirs, by=responder)


# --- Working the steps ------------------------------------------------------


@pytest.fixture
def step(service: Service) -> IncidentRunbookStep:
    p0_runbook()
    return declare(service, "P0").runbook_steps.get(position=1)


def step_events(step: IncidentRunbookStep) -> list[str]:
    kinds = step.incident.timeline.filter(kind__startswith="runbook_step")
    return list(kinds.order_by("id").values_list("kind", flat=True))


def test_ticking_twice_records_one_event(step: IncidentRunbookStep, responder: User):
    first = runbook_step_tick(step=step, by=responder)
    done_at = first.done_at
    again = runbook_step_tick(step=step, by=responder)

    assert (again.state, again.done_by, again.done_at) == ("done", responder, done_at)
    assert step_events(step) == [RUNBOOK_STEP_DONE]
    message = step.incident.timeline.get(kind=RUNBOOK_STEP_DONE).message
    assert message == "Done: Major incident #1: Page the incident commander"


def test_unticking_reopens_once(step, responder):
    runbook_step_tick(step=step, by=responder)
    runbook_step_untick(step=step, by=responder)
    reopened = runbook_step_untick(step=step, by=responder)

    assert (reopened.state, reopened.done_at, reopened.done_by) == ("open", None, None)
    assert step_events(step) == [
        RUNBOOK_STEP_DONE,
        RUNBOOK_STEP_REOPENED,
    ]


def test_skipping_needs_a_reason_and_happens_once(step, responder):
    with pytest.raises(RunbookError, match="needs a reason"):
        runbook_step_skip(step=step, reason="  ", by=responder)
    runbook_step_skip(step=step, reason="No commander this shift", by=responder)
    skipped = runbook_step_skip(step=step, reason="again", by=responder)

    assert (skipped.state, skipped.skip_reason) == (
        "skipped",
        "No commander this shift",
    )
    assert step_events(step) == [RUNBOOK_STEP_SKIPPED]


def test_a_done_step_is_reopened_before_it_is_skipped(step, responder):
    runbook_step_tick(step=step, by=responder)
    with pytest.raises(RunbookStepStateError, match="reopen it"):
        runbook_step_skip(step=step, reason="not needed", by=responder)
    step.refresh_from_db()
    assert step.state == "done"


def test_a_skipped_step_can_still_be_done(step, responder):
    runbook_step_skip(step=step, reason="later", by=responder)
    done = runbook_step_tick(step=step, by=responder)
    assert (done.state, done.skip_reason) == ("done", "")


def test_a_note_is_recorded_when_it_changes(step, responder):
    runbook_step_note(step=step, text="Called Dana", by=responder)
    runbook_step_note(step=step, text=" Called Dana ", by=responder)
    noted = runbook_step_note(step=step, text="Called Dana, no answer", by=responder)

    assert noted.note == "Called Dana, no answer"
    assert step_events(step) == [
        RUNBOOK_STEP_NOTE,
        RUNBOOK_STEP_NOTE,
    ]
    with pytest.raises(RunbookError, match="needs some text"):
        runbook_step_note(step=step, text="", by=responder)


def test_a_closed_incidents_checklist_no_longer_changes(step, responder):
    incident_transition(
        incident=step.incident, to="cancelled", by=responder, reason="false alarm"
    )
    step.refresh_from_db()
    with pytest.raises(RunbookStepStateError, match="no longer change"):
        runbook_step_tick(step=step, by=responder)
    assert step_events(step) == []


def test_a_step_shows_its_external_contact(service, team):
    host = ExternalContact.objects.create(
        team=team, name="Hostco", kind="hosting_provider", emergency_line="+15550100"
    )
    runbook_create(
        name="Call the host",
        team=team,
        steps=[{"text": "Open a P0 ticket", "external_contact": host}],
    )
    step = declare(service).runbook_steps.get()
    assert step.external_contact == host


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_simultaneous_ticks_record_one_event(service, responder):
    p0_runbook()
    step = declare(service, "P0").runbook_steps.get(position=1)

    errors = in_threads(
        8,
        lambda n: runbook_step_tick(
            step=IncidentRunbookStep.objects.get(pk=step.pk), by=responder
        ),
    )

    assert errors == []
    assert step_events(step) == [RUNBOOK_STEP_DONE]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_category_changes_attach_a_runbook_once(service, responder):
    incidents = [declare(service, "P2") for _ in range(2)]

    def make_security(n: int) -> None:
        incident = Incident.objects.get(pk=incidents[n % 2].pk)
        incident_update(incident=incident, by=responder, category=Category.SECURITY)

    errors = in_threads(6, make_security)

    assert errors == []
    for incident in incidents:
        assert attached(incident) == ["Security incident"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_contacts_of_one_name_make_one_and_clear_refusals(team):
    def create(n: int) -> None:
        external_contact_create(team=team, name="Hostco", hours=f"try {n}")

    errors = in_threads(6, create)

    assert ExternalContact.objects.filter(team=team, name="Hostco").count() == 1
    assert len(errors) == 5
    assert all(isinstance(error, RunbookError) for error in errors), errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_severity_changes_queue_and_attach_once(service, responder):
    p0_runbook()
    incident = declare(service, "P2")
    codes = ["P0", "P1", "P3", "P0", "P1", "P3"]

    def change(n: int) -> None:
        try:
            incident_change_severity(
                incident=Incident.objects.get(pk=incident.pk),
                severity=severity(codes[n]),
                by=responder,
            )
        except IncidentError as error:  # already at that severity: refused
            if "is already" not in error.message:
                raise

    errors = in_threads(6, change)

    assert errors == []
    assert attached(incident) == ["Major incident"]
    changes = incident.timeline.filter(kind=SEVERITY_CHANGED).count()
    assert changes >= 3
