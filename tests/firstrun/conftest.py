"""What a new user meets: `make run` on a fresh clone, with the defaults.

One stack (web, worker and beat, as `manage.py runstack` starts them) serves
every test of this folder; each test makes the data it looks at.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live import FirstRun, first_run


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    with first_run(tmp_path_factory.mktemp("first-run")) as run:
        yield run


@pytest.fixture
def api(stack: FirstRun) -> Iterator[httpx.Client]:
    """The REST API, with the token the first run printed."""
    with httpx.Client(
        base_url=stack.url,
        headers={"Authorization": f"Token {stack.token}"},
        timeout=30,
    ) as client:
        yield client


def admin_login(client: httpx.Client, stack: FirstRun) -> httpx.Client:
    """Log `client` in to the admin as the admin user the first run printed."""
    client.get("/admin/login/").raise_for_status()
    answer = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": stack.username,
            "password": stack.password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert answer.status_code == 302, answer.text[-2000:]
    return client
