"""The README's API examples and "Your first incident", run as written.

The shell blocks are read from README.md and run by bash with curl against
`make run`, one step at a time, with the values the first run printed: the
README cannot show a command that does not work.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from itertools import takewhile

import httpx
import pytest

from tests.config.test_runstack import embedded_only
from tests.live import ROOT, FirstRun, wait_until

# The stack as `make run` starts it, on the embedded default: CI runs these
# in its embedded pass only.
pytestmark = embedded_only

README = (ROOT / "README.md").read_text()
PLACEHOLDER = re.compile(r"^(\w+)=\.\.\..*$\n", re.MULTILINE)
# A step fails on any HTTP error, as a person would see it fail.
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'


def section(title: str) -> str:
    """Return the README's text from a heading to the next one."""
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start : end if end >= 0 else None]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


@dataclass
class Shell:
    """Runs README blocks as a person would, in one terminal: the variables
    a block sets are there for the next one."""

    stack: FirstRun
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.variables.update(TOKEN=self.stack.token, KEY=self.stack.integration_key)

    def run(self, block: str, *, check: bool = True) -> str:
        """Run one block; return what it printed ("" if it failed unchecked)."""
        names = sorted(set(re.findall(r"^(\w+)=", block, re.MULTILINE)))
        script = PLACEHOLDER.sub("", block).replace(
            "http://127.0.0.1:8000", self.stack.url
        )
        keep = "".join(f'\nprintf "\\n@{n}=%s" "${{{n}:-}}"' for n in names)
        done = subprocess.run(  # noqa: S603
            ["/bin/bash", "-c", PRELUDE + script + keep],
            env={"PATH": "/usr/bin:/bin", **self.variables},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0 and not check:
            return ""
        assert done.returncode == 0, (block, done.stdout, done.stderr)
        printed, *kept = done.stdout.split("\n@") if keep else (done.stdout,)
        self.variables.update(line.split("=", 1) for line in kept)  # type: ignore[misc]
        return printed


@pytest.fixture
def api_get(api: httpx.Client):
    def get(path: str) -> dict:
        answer = api.get(path)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    return get


def test_the_quick_start_api_example_declares_acknowledges_notes_and_exports(
    stack: FirstRun, api_get
):
    (block,) = [b for b in shell_blocks(section("## Quick start")) if "curl" in b]
    shell = Shell(stack)
    exported = shell.run(block)
    public_id = shell.variables["ID"]
    assert re.fullmatch(r"INC-\d{4}-\d{2}-\d{2}-\d{3}", public_id)
    assert api_get(f"/api/v1/incidents/{public_id}/")["status"] == "acknowledged"
    assert "Site down" in exported
    assert "Rolled back the 14:02 deploy" in exported


def test_your_first_incident_goes_from_alert_to_exported_timeline(
    stack: FirstRun, api_get
):
    setup, send, see, acknowledge, note, resolve, export = shell_blocks(
        section("## Your first incident")
    )
    shell = Shell(stack)
    shell.run(setup)
    assert '"status":"success"' in shell.run(send).replace(" ", "")

    def opened() -> str:
        # The worker opens the incident a moment after the answer; a person
        # runs the step again while ID comes out empty.
        return shell.variables["ID"] if shell.run(see, check=False) else ""

    public_id = wait_until(opened, "the alert's incident", seconds=60, every=1)
    incident = api_get(f"/api/v1/incidents/{public_id}/")
    assert (incident["title"], incident["severity"]) == ("Disk full on web-1", "P1")

    shell.run(acknowledge)
    assert api_get(f"/api/v1/incidents/{public_id}/")["status"] == "acknowledged"
    shell.run(note)
    shell.run(resolve)
    assert api_get(f"/api/v1/incidents/{public_id}/")["status"] == "resolved"
    timeline = api_get(f"/api/v1/incidents/{public_id}/timeline/?page_size=200")
    messages = " ".join(event["message"] for event in timeline["results"])
    assert "Rotated the logs on web-1" in messages

    document = shell.run(export)
    assert document.startswith("#")
    assert public_id in document
    assert "Rotated the logs on web-1" in document


def labels(text: str) -> list[str]:
    """The labels of the first run's credentials block, in order."""
    lines = text[text.index("Shown once") :].splitlines()[1:]
    indented = takewhile(lambda line: line.startswith("  "), lines)
    return [line[2:18].strip() for line in indented]


def test_the_first_run_prints_what_the_readme_shows(stack: FirstRun):
    shown = section("## Quick start")
    assert labels(stack.text) == labels(shown)
    assert re.search(r"^ +kind +pagerduty: .*routing_key", stack.text, re.M)
    assert f"send events to POST {stack.url}/v2/enqueue" in stack.text
