from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.models import Incident, Service, Team, TeamMembership
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory, declare
from tests.live import CONFIGURED

# Tests that start real processes against PostgreSQL and RabbitMQ.
LIVE_DIRECTORIES = ("tests/integration/", "tests/faults/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(
        reason="set DATABASE_URL=postgres://… and CELERY_BROKER_URL=amqp://… to run"
    )
    for item in items:
        if any(folder in str(item.path) for folder in LIVE_DIRECTORIES):
            item.add_marker(pytest.mark.integration)
            if not CONFIGURED:
                item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _empty_test_broker() -> None:
    """Start each run with an empty embedded queue (messages nobody consumed)."""
    options = getattr(django_settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folder = options.get("data_folder_in")
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://") and folder:
        for message in Path(folder).glob("*.msg"):
            message.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = [  # type: ignore[attr-defined]
        "django.contrib.auth.hashers.MD5PasswordHasher"
    ]


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory(name="Platform", slug="platform")


@pytest.fixture
def service(team: Team) -> Service:
    return ServiceFactory(name="Website", slug="website", team=team)


def in_responders(user: User) -> User:
    """Put `user` in the "Responders" group: the API's and admin's write rights."""
    user.groups.add(Group.objects.get(name="Responders"))
    return user


@pytest.fixture
def responder(team: Team) -> User:
    return in_responders(MembershipFactory(team=team, user__username="responder").user)


@pytest.fixture
def team_lead(team: Team) -> User:
    return in_responders(
        MembershipFactory(
            team=team, user__username="lead", role=TeamMembership.Role.LEAD
        ).user
    )


@pytest.fixture
def outsider(db: None) -> User:
    """A responder of another team, who must see nothing of `team`'s."""
    return in_responders(
        MembershipFactory(
            team=TeamFactory(name="Bots", slug="bots"), user__username="outsider"
        ).user
    )


@pytest.fixture
def incident(service: Service, responder: User) -> Incident:
    return declare(service, "P1", by=responder)


def api_client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def staff_client(user: User) -> Client:
    """Sign `user` in to the admin as staff in the "Responders" group."""
    User.objects.filter(pk=user.pk).update(is_staff=True)
    in_responders(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api(responder: User) -> APIClient:
    return api_client(responder)


@contextmanager
def database_unavailable(statement: str = "") -> Iterator[None]:
    """Fail every query (starting with `statement`) as a database that went away."""

    def refuse(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith(statement.upper()):
            raise OperationalError("the database system is shutting down")
        return execute(sql, *args)

    with connection.execute_wrapper(refuse):
        yield
