"""The live API answers as its own OpenAPI schema says, every operation of it.

Schemathesis reads /api/schema/ from the running stack and sends each
operation examples, boundary and malformed input (positive and negative
cases), random input, and sequences that follow the schema's links (create,
then act on what was created). Every answer must be no server error, a
status code, content type and headers the schema documents, and a body that
fits the schema. It runs as the seeded superuser and as a plain responder,
the responder on the embedded stack and the superuser on PostgreSQL and
RabbitMQ when configured, so that CI, which runs both, fuzzes each once
(`SCHEMA_FUZZ_USERS=admin,responder` runs both here).

Deterministic (no random seed) and bounded, so that it fails the same way
twice; `SCHEMA_FUZZ_EXAMPLES` raises the bound for a longer local run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.config.test_runstack import free_port
from tests.live import (
    CONFIGURED,
    LiveVigil,
    database_url,
    running_stack,
    scratch_database_named,
)

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "use_after_free",
    "ensure_resource_availability",
]
# Examples per operation and phase; the superuser reaches every operation's
# success paths, the responder mostly its refusals.
EXAMPLES = {"admin": 6, "responder": 4}
USERS = os.environ.get(
    "SCHEMA_FUZZ_USERS", "admin" if CONFIGURED else "responder"
).split(",")

RESPONDER = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from incidents.models import Team, TeamMembership
from incidents.services import team_add_member
user = get_user_model().objects.create_user("responder", "responder@example.com")
team_add_member(team=Team.objects.get(slug="platform"), user=user,
                role=TeamMembership.Role.MEMBER)
print(Token.objects.create(user=user).key)
"""


@pytest.fixture(scope="module")
def vigil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVigil]:
    """The whole stack with its demo data, on a database of its own."""
    tmp = tmp_path_factory.mktemp("schema")
    env = {**os.environ, "VIGIL_VAR_DIR": str(tmp), "PORT": str(free_port())}
    if CONFIGURED:
        with scratch_database_named("vigil_schema") as name:
            env["DATABASE_URL"] = database_url(name)
            with running_stack(env, tmp / "log") as stack:
                yield stack
    else:
        for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        with running_stack(env, tmp / "log") as stack:
            yield stack


def schemathesis(vigil: LiveVigil, token: str, examples: int, tmp: Path) -> str:
    """Run Schemathesis against the live schema; return its report, or fail
    with it."""
    examples = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", examples))
    argv = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{vigil.url}/api/schema/",
        "--header", f"Authorization: Token {token}",
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(examples),
        "--generation-deterministic",
        "--suppress-health-check", "all",
        "--workers", "2",
        "--request-timeout", "30",
        "--continue-on-failure",
        "--no-color",
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603
        argv, cwd=tmp, capture_output=True, text=True, timeout=900, check=False
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20_000:]
    return report


@pytest.mark.parametrize("user", USERS)
def test_every_operation_answers_as_the_schema_says(vigil, user, tmp_path):
    token = vigil.token if user == "admin" else vigil.shell(RESPONDER)

    report = schemathesis(vigil, token, EXAMPLES[user], tmp_path)

    assert "Tested: 0" not in report
    assert " passed" in report
    assert "Server error" not in report
