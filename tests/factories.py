from __future__ import annotations

import factory
from django.contrib.auth.models import User

from incidents.models import Incident, Service, SeverityLevel, Team, TeamMembership
from incidents.services import incident_create


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
