from __future__ import annotations

from collections.abc import Callable

import factory
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from escalation.timeline_kinds import (
    ESCALATED,
    ESCALATION_RESTARTED,
    ESCALATION_SKIPPED,
    ESCALATION_STOPPED,
)
from incidents.models import (
    AlertEvent,
    Incident,
    Integration,
    Service,
    SeverityLevel,
    Team,
    TeamMembership,
    TimelineEvent,
)
from incidents.services import incident_create, integration_create
from incidents.services.checklists import (
    verification_item_tick,
    verification_items_ensure,
)
from incidents.services.reviews import review_waive
from incidents.timeline_kinds import RUNBOOK_ATTACHED, STATUS_UPDATE_POSTED
from notifications.models import Channel, ContactMethod, Kind


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamMembership.Role.MEMBER


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    team = factory.SubFactory(TeamFactory)


def declare(
    service: Service,
    severity: str = "P1",
    title: str = "Checkout returns 500",
    **kwargs: object,
) -> Incident:
    """Declare an incident through the real service, as users do."""
    return incident_create(
        title=title,
        severity=SeverityLevel.objects.get(code=severity),
        service=service,
        **kwargs,  # type: ignore[arg-type]
    )


def verify(incident: Incident, by: User | None = None) -> Incident:
    """Tick every verification item, as a team does before it resolves."""
    for item in verification_items_ensure(incident=incident):
        verification_item_tick(incident=incident, item_id=item.pk, by=by)
    return incident


def waive_review(incident: Incident) -> Incident:
    """Waive the incident's PIR as an administrator may, so that it can close."""
    admin = UserFactory(username="pir-admin", is_superuser=True)
    review_waive(review=incident.review, reason="Covered elsewhere", by=admin)
    return incident


# What the escalation engine adds to every timeline (a service without a
# policy records that nobody is paged); tests of the incident core leave it out.
ESCALATION_KINDS = (
    ESCALATED,
    ESCALATION_SKIPPED,
    ESCALATION_STOPPED,
    ESCALATION_RESTARTED,
)


def core_timeline(incident: Incident) -> QuerySet[TimelineEvent]:
    """Return the incident's timeline without the escalation engine's entries,
    the runbooks that attached by themselves (by category, severity) and the
    status updates that declaring and transitions post."""
    return (
        incident.timeline.exclude(kind__in=ESCALATION_KINDS)
        .exclude(kind=RUNBOOK_ATTACHED)
        .exclude(kind=STATUS_UPDATE_POSTED)
        .order_by("at", "id")
    )


class ContactMethodFactory(factory.django.DjangoModelFactory):
    """A verified way to reach a user (email unless told otherwise)."""

    class Meta:
        model = ContactMethod

    user = factory.SubFactory(UserFactory)
    kind = Kind.EMAIL
    address = factory.LazyAttribute(lambda m: f"{m.user.username}@example.com")
    verified_at = factory.LazyFunction(timezone.now)


def webhook_channels(
    service: Service, url: Callable[[str], str], count: int
) -> list[Channel]:
    """Create channels #c0… of `service`, each a webhook to `url(f"/c{i}")`."""
    return [
        Channel.objects.create(
            name=f"#c{i}",
            kind=Kind.WEBHOOK,
            address=url(f"/c{i}"),
            secret="k",
            service=service,
        )
        for i in range(count)
    ]


def webhook_contact(user: User, address: str) -> ContactMethod:
    """Create a verified webhook contact method of `user`."""
    return ContactMethod.objects.create(
        user=user, kind=Kind.WEBHOOK, address=address, secret="k",
        verified_at=timezone.now(),
    )  # fmt: skip


def stored_triggers(service: Service, keys: list[str]) -> Integration:
    """A generic integration of `service` with one stored, pending trigger
    per dedup key in `keys`, in that order."""
    integration, _ = integration_create(name="Noisy", kind="generic", service=service)
    AlertEvent.objects.bulk_create(
        AlertEvent(
            integration=integration,
            service=service,
            source=AlertEvent.Source.GENERIC,
            action="trigger",
            dedup_key=key,
            payload={"title": key},
        )
        for key in keys
    )
    return integration
