"""Every API operation, walked from the OpenAPI schema.

Anonymous callers get 401 on every path and method. A responder of another
team gets 404 on every operation on one of Platform's objects, whatever
their permissions: the same answer as for an id nobody has. A new endpoint
is walked as soon as it is in the schema; the schema must name every route.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from escalation.models import DrillScenario, EscalationPolicy, Override
from escalation.services import drill_schedule_create, drill_start, schedule_create
from incidents.models import Alert, AlertEvent, Incident, IncidentRole, Service
from incidents.services import (
    incident_assign_role,
    incident_update,
    integration_create,
    maintenance_window_create,
    user_report_create,
)
from incidents.services.action_items import action_item_create
from incidents.services.incident import incident_transition
from incidents.services.recurrence import incident_link_create, root_cause_tag_create
from incidents.services.runbook_setup import external_contact_create, runbook_create
from incidents.services.security import evidence_record_add, incident_set_visibility
from incidents.tasks import ingest_process_task
from notifications.models import Channel, Delivery, Kind, NotificationRule
from notifications.services import page_user, subscription_create
from tests.conftest import api_client, in_responders
from tests.factories import ContactMethodFactory, MembershipFactory, declare, verify


def operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method)
        for path, item in sorted(schema["paths"].items())
        for method in sorted(item)
        if method in {"get", "post", "put", "patch", "delete"}
    ]


OPERATIONS = operations()
# Not a team's object: the severity matrix and the drill scenario library
# are global (readable by all).
GLOBAL = ("/api/v1/severities/{code}/", "/api/v1/drills/scenarios/{id}/")
# What only a restricted incident's named responders may read.
EVIDENCE = "Disk image of the billing host"
SECRETS = ("Checkout returns 500", "Attacker in billing", EVIDENCE)
# Response checklist items are named by key, not by number.
CHECKLIST_ITEM = "ic_assigned"
OWNED = [(p, m) for p, m in OPERATIONS if "{" in p and p not in GLOBAL]


def _api_routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _api_routes(pattern, route)
        elif route.startswith("api/v1/") and not re.search("format[>:]", route):
            routes.append(route)
    return routes


def _shape(route: str) -> str:
    """Reduce a URL route or schema path to a comparable shape."""
    route = re.sub(r"\(\?P<[^>]+>[^)]+\)|<[^>]+>|\{[^}]+\}", "X", route)
    route = re.sub(r"[$?^\\]", "", route)
    return "/" + route.strip("/") + "/"


def test_the_schema_names_every_api_route():
    documented = {_shape(path) for path, _ in OPERATIONS} | {"/api/v1/"}
    routes = {_shape(route) for route in _api_routes(get_resolver())}

    assert routes - documented == set()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_anonymous_callers_get_401_everywhere(db, path, method):
    url = re.sub(r"\{[^}]+\}", "1", path.replace("{item}", CHECKLIST_ITEM))

    response = getattr(api_client(), method)(url, {}, format="json")

    assert response.status_code == 401, (method, url, response.content)


@pytest.fixture
def platform(service: Service, responder) -> dict[str, object]:
    """One of each of Platform's objects, by the path parameter naming it."""
    method = ContactMethodFactory(user=responder)
    earlier = declare(service, "P1", title="Slow checkout", by=responder)
    incident = declare(service, "P1", by=responder)
    page_user(incident=incident, user=responder, event_key="walk")
    incident_link_create(incident=incident, repeats=earlier, by=responder)
    verify(incident)
    incident_transition(incident=incident, to="resolved", by=responder)
    schedule = schedule_create(team=service.team, name="Primary", time_zone="UTC")
    now = timezone.now()
    override = Override.objects.create(
        schedule=schedule, user=responder, start=now, end=now + timedelta(hours=1)
    )
    integration, _ = integration_create(name="Hook", kind="generic", service=service)
    event = user_report_create(
        service=service, title="Broken", description="", severity="", by=responder
    )
    ingest_process_task(event_id=event.pk)
    channel = Channel.objects.create(
        name="#ops", kind=Kind.SLACK, address="https://example.com/c", team=service.team
    )
    drill_schedule = drill_schedule_create(team=service.team, name="Quarterly")
    drill = drill_start(scenario=DrillScenario.objects.first(), team=service.team)
    return {
        "incidents": incident.public_id,
        "services": service.slug,
        "teams": service.team.slug,
        "escalation-policies": EscalationPolicy.objects.create(
            name="SOP", team=service.team
        ).pk,
        "schedules": schedule.pk,
        "drills": drill.pk,
        "drill-schedules": drill_schedule.pk,
        "scenarios": drill.scenario_id,
        "overrides": override.pk,
        "integrations": integration.pk,
        "alerts": Alert.objects.get(service=service).pk,
        "alert-events": event.pk,
        "maintenance-windows": maintenance_window_create(
            service=service,
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            reason="upgrade",
            by=responder,
        ).pk,
        "contact-methods": method.pk,
        "notification-rules": NotificationRule.objects.create(
            user=responder, contact_method=method, urgency="high"
        ).pk,
        "channels": channel.pk,
        "subscriptions": subscription_create(
            service=service, by=responder, channel=channel
        ).pk,
        "deliveries": Delivery.objects.filter(incident=incident).first().pk,
        "checklist": CHECKLIST_ITEM,
        "external-contacts": external_contact_create(
            team=service.team, name="Hosting provider"
        ).pk,
        "runbooks": runbook_create(
            name="Restart", team=service.team, steps=[{"text": "Restart it"}]
        ).pk,
        "runbook-steps": 1,
        "verification": 1,
        "evidence": evidence_record_add(
            incident=incident,
            what=EVIDENCE,
            location="Vault",
            hash="0" * 64,
            collected_by="Dana",
            by=responder,
        ).pk,
        "after-incident": "runbooks_updated",
        "action-items": action_item_create(
            incident=incident,
            title="Add a lock timeout",
            owner=responder,
            due_date=now.date(),
            by=responder,
        ).pk,
        "root-cause-tags": root_cause_tag_create(team=service.team, name="Disk").pk,
        # A drill, declared only for the paths that name one.
        "reports": lambda: (
            declare(
                service, "P2", title="Failover rehearsal", by=responder, is_drill=True
            ).public_id
        ),
    }


def url_of(path: str, objects: dict[str, object]) -> str:
    """Fill each path parameter with Platform's object of the segment before it."""

    def fill(match: re.Match[str]) -> str:
        named = objects[match[1]]
        return f"{match[1]}/{named() if callable(named) else named}"

    path = path.replace("{schedule_pk}", "{id}")
    if path.startswith("/api/v1/drills/schedules/"):
        objects = {**objects, "schedules": objects["drill-schedules"]}
    return re.sub(r"([a-z-]+)/\{[^}]+\}", fill, path)


@pytest.mark.parametrize(("path", "method"), OWNED)
def test_another_teams_responder_gets_404_everywhere(platform, outsider, path, method):
    url = url_of(path, platform)

    response = getattr(api_client(outsider), method)(url, {}, format="json")

    assert response.status_code == 404, (method, url, response.content)
    assert AlertEvent.objects.exists()
    assert Incident.objects.filter(public_id=platform["incidents"]).exists()


@pytest.fixture
def restricted_platform(platform, responder) -> dict[str, object]:
    """Platform's objects, its incident restricted to `responder` alone."""
    incident = Incident.objects.get(public_id=platform["incidents"])
    incident_update(incident=incident, summary="Attacker in billing", by=responder)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    incident_set_visibility(incident=incident, restricted=True, by=responder)
    return {**platform, "severities": "P1"}


@pytest.fixture
def teammate(team):
    """A responder of Platform who is not named on its restricted incident."""
    return in_responders(MembershipFactory(team=team, user__username="teammate").user)


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_a_teammate_not_named_reads_no_detail_of_a_restricted_incident(
    restricted_platform, teammate, path, method
):
    url = url_of(path, restricted_platform).replace("{item}", CHECKLIST_ITEM)
    incident = Incident.objects.get(public_id=restricted_platform["incidents"])
    events = incident.timeline.count()

    response = getattr(api_client(teammate), method)(url, {}, format="json")

    assert response.status_code < 500, (method, url, response.content)
    body = response.content.decode()
    for secret in SECRETS:
        assert secret not in body, (method, url, secret)
    # Its own page (the detail) shows that it exists; nothing under it answers.
    own = f"/api/v1/incidents/{incident.public_id}/"
    if url.startswith(own) and not (url == own and method == "get"):
        assert response.status_code == 404, (method, url, response.content)
    assert incident.timeline.count() == events
