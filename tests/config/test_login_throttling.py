"""Password logins lock out after repeated failures (django-axes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", PASSWORD)


def _login(username: str, password: str, address: str = "203.0.113.7") -> int:
    """Post the admin login form; return the status (302 means logged in)."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password})
    return response.status_code


def _fail(times: int, username: str = "admin", address: str = "203.0.113.7") -> None:
    for _ in range(times):
        _login(username, "wrong", address)


def test_the_right_password_works_before_any_failure(admin_user: User) -> None:
    assert _login("admin", PASSWORD) == 302


def test_the_right_password_is_refused_after_forty_wrong_ones(
    admin_user: User,
) -> None:
    _fail(40)

    client = Client(REMOTE_ADDR="203.0.113.7")
    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})

    assert response.status_code == 429
    assert b"Login locked: too many failed attempts." in response.content
    assert "_auth_user_id" not in client.session


def test_the_lockout_starts_at_the_configured_limit(admin_user: User) -> None:
    _fail(settings.AXES_FAILURE_LIMIT - 1)
    assert _login("admin", PASSWORD) == 302

    _fail(settings.AXES_FAILURE_LIMIT)
    assert _login("admin", PASSWORD) == 429


def test_the_lockout_expires_after_the_cool_off(admin_user: User) -> None:
    with time_machine.travel(T0, tick=False):
        _fail(settings.AXES_FAILURE_LIMIT)
    with time_machine.travel(
        T0 + settings.AXES_COOLOFF_TIME + timedelta(seconds=1), tick=False
    ):
        assert _login("admin", PASSWORD) == 302


def test_an_attempt_during_the_lockout_starts_the_cool_off_again(
    admin_user: User,
) -> None:
    cool_off = settings.AXES_COOLOFF_TIME
    with time_machine.travel(T0, tick=False):
        _fail(settings.AXES_FAILURE_LIMIT)
    with time_machine.travel(T0 + cool_off - timedelta(seconds=1), tick=False):
        assert _login("admin", PASSWORD) == 429
    with time_machine.travel(T0 + cool_off + timedelta(seconds=1), tick=False):
        assert _login("admin", PASSWORD) == 429
    with time_machine.travel(T0 + 2 * cool_off + timedelta(seconds=2), tick=False):
        assert _login("admin", PASSWORD) == 302


def test_other_users_and_other_addresses_are_not_locked_out(admin_user: User) -> None:
    User.objects.create_superuser("other", "other@example.com", PASSWORD)
    _fail(40)

    assert _login("other", PASSWORD) == 302
    assert _login("admin", PASSWORD, address="198.51.100.9") == 302


def test_an_admin_unlocks_a_user_with_the_reset_command(admin_user: User) -> None:
    _fail(settings.AXES_FAILURE_LIMIT)
    assert AccessAttempt.objects.filter(username="admin").exists()

    call_command("axes_reset_username", "admin")

    assert _login("admin", PASSWORD) == 302


def test_a_success_before_the_limit_forgets_the_failures(admin_user: User) -> None:
    _fail(settings.AXES_FAILURE_LIMIT - 1)
    assert _login("admin", PASSWORD) == 302

    _fail(settings.AXES_FAILURE_LIMIT - 1)

    assert _login("admin", PASSWORD) == 302


def test_behind_a_proxy_each_client_address_is_locked_out_alone(
    admin_user: User, settings: object
) -> None:
    settings.VIGIL_TRUSTED_PROXIES = 1  # type: ignore[attr-defined]

    def login(client_address: str, password: str) -> int:
        forwarded = f"10.9.9.9, {client_address}"  # the first entry is forged
        response = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded).post(
            LOGIN, {"username": "admin", "password": password}
        )
        return response.status_code

    for _ in range(settings.AXES_FAILURE_LIMIT):  # type: ignore[attr-defined]
        login("203.0.113.7", "wrong")

    assert login("203.0.113.7", PASSWORD) == 429
    assert login("198.51.100.9", PASSWORD) == 302
