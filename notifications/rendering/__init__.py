"""Render notification messages from a context and admin-edited templates.

`render_message()` turns a plain context (built by the delivery services) into
a transport `Message` in every format at once: an email subject, a plain
text body, chat Markdown and a short SMS/voice text. Each format comes from an
admin-edited template when there is one, rendered in the sandbox of
`sandbox.py`, and from the built-in template of `builtin.py` otherwise, or
whenever the edited one fails: a broken template never blocks a page, it is
reported in `Rendered.errors` instead.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notifications.rendering.builtin import BUILTIN, FORMATS, KINDS
from notifications.rendering.sandbox import TemplateProblem, compile_template, render
from notifications.transports.base import Message

__all__ = [
    "FORMATS",
    "KINDS",
    "OUTPUT_CAPS",
    "Rendered",
    "builtin_source",
    "render_message",
    "sample_context",
    "validate_template",
]

logger = logging.getLogger(__name__)

# The longest each format may be; longer output is cut with "…". A subject
# is one line; 3,500 leaves room under Slack's and Discord's message limits
# for the header a transport adds; 480 is three SMS segments.
OUTPUT_CAPS: dict[str, int] = {
    "subject": 200,
    "text": 20_000,
    "chat": 3_500,
    "short": 480,
}
# An edited template writing this many times its cap is broken (a runaway
# loop, most likely): it is stopped and the built-in used instead. Output
# between the cap and this is merely cut.
RUNAWAY_FACTOR = 4
# Context strings are cut to this before rendering, so that a 1 MB alert
# summary cannot push a built-in past the value limits of the sandbox.
MAX_CONTEXT_STRING = 5_000
DRILL_PREFIX = "[DRILL] "
DEFAULT_SEVERITY_COLOR = "#6b7280"

_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class Rendered:
    """A rendered message, and what went wrong with edited templates on the way."""

    message: Message
    # One human line per edited template that failed and fell back, e.g.
    # "chat template of 'initial': 'foo' is undefined; the built-in one was used".
    errors: list[str]


def builtin_source(kind: str, format: str) -> str:
    """Return the built-in template text, for an admin to start editing from."""
    _check_kind_and_format(kind, format)
    return BUILTIN[kind][format]


def render_message(
    *, kind: str, context: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> Rendered:
    """Render a `kind` message in every format; never raise for a template.

    `overrides` maps a format to the template source an admin edited; missing
    or blank formats use the built-ins, and so does any edited template that
    fails (each failure is one line of `errors`).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    values = _clipped(_with_defaults(context))
    is_drill = bool(values["is_drill"])
    overrides = overrides or {}
    errors = [
        f"{name!r} template of {kind!r}: there is no such format; it was ignored"
        for name in overrides
        if name not in FORMATS
    ]
    texts: dict[str, str] = {}
    for format in FORMATS:
        source = overrides.get(format) or ""
        if source.strip():
            try:
                texts[format] = _render_format(
                    format, source, values, is_drill, edited=True
                )
                continue
            except TemplateProblem as problem:
                errors.append(
                    f"{format} template of {kind!r}: {problem};"
                    " the built-in one was used"
                )
        texts[format] = _render_builtin(kind, format, values, is_drill, errors)
    return Rendered(message=_message(kind, texts, values, is_drill), errors=errors)


def validate_template(*, kind: str, format: str, source: str) -> list[str]:
    """Return the errors an admin form shows before saving an edited template.

    Checks the size, the syntax and the constructs the sandbox refuses, then
    renders it once with `sample_context(kind)`. A blank source means "use the
    built-in" and is valid.
    """
    _check_kind_and_format(kind, format)
    if not source.strip():
        return []
    try:
        compile_template(source)
    except TemplateProblem as problem:
        return [str(problem)]
    try:
        _render_format(
            format, source, sample_context(kind), is_drill=False, edited=True
        )
    except TemplateProblem as problem:
        return [f"with the sample {kind} message: {problem}"]
    return []


# Every key the built-ins read, with the value that stands for "unknown".
# Missing keys are filled in from here, so a context built before a field
# existed still renders.
CONTEXT_DEFAULTS: dict[str, Any] = {
    "incident": {
        "id": "", "title": "", "summary": "", "severity": "", "severity_name": "",
        "severity_color": "", "status": "", "status_display": "", "impact": "",
        "users_affected": None, "service": "", "team": "", "started_at": "",
        "detected_at": "", "resolved_at": "", "duration": "", "commander": "",
        "tech_lead": "", "url": "", "war_room": "", "update_cadence_minutes": None,
        "next_update_at": "", "root_cause": "", "resolution_type": "",
        "resolution": "",
    },
    # `posted_at` is the SOP's "**Time**" line; the line is left out without it.
    "update": {"text": "", "impact": "", "next_steps": "", "eta": "", "posted_at": ""},
    "links": {"acknowledge": "", "resolve": "", "confirm": ""},
    # A contact-method test ("test") or its reminder ("reminder").
    "contact_test": {"stage": "", "sent_at": ""},
    # An overdue status update: "remind" the Communications Lead, or "page".
    "reminder": {"stage": "", "due_at": "", "overdue": ""},
    "sms_code": "",
    "recipient": {"name": ""},
    "code": "",
    "is_drill": False,
    "notice": {"subject": "", "text": ""},
}  # fmt: skip


def _with_defaults(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return `context` with every key the built-ins read filled in.

    Extra keys are kept: an edited template may use them.
    """
    values = dict(context)
    for key, default in CONTEXT_DEFAULTS.items():
        given = context.get(key)
        if isinstance(default, dict):
            values[key] = (
                {**default, **given} if isinstance(given, Mapping) else dict(default)
            )
        elif given is None:
            values[key] = default
    return values


_SAMPLE_INCIDENT: dict[str, Any] = {
    "id": "INC-2026-11-24-001",
    "title": "Site down",
    "summary": "Every page of the website answers 502 since the 14:00 deploy.",
    "severity": "P0",
    "severity_name": "Critical",
    "severity_color": "#dc2626",
    "status": "investigating",
    "status_display": "Investigating",
    "impact": "Website completely unavailable",
    "users_affected": 12000,
    "service": "Website",
    "team": "Platform",
    "started_at": "2026-11-24 14:05 UTC",
    "detected_at": "2026-11-24 14:07 UTC",
    "resolved_at": "",
    "duration": "",
    "commander": "Dana Reyes",
    "tech_lead": "Sam Okafor",
    "url": "https://vigil.example.com/incidents/INC-2026-11-24-001/",
    "war_room": "#incident-20261124-site-down",
    "update_cadence_minutes": 30,
    "next_update_at": "2026-11-24 14:35 UTC",
    "root_cause": "",
    "resolution_type": "",
    "resolution": "",
}

_SAMPLE_BY_KIND: dict[str, dict[str, Any]] = {
    "page": {
        "links": {
            "acknowledge": "https://vigil.example.com/a/Zm9vYmFy/",
            "resolve": "https://vigil.example.com/r/YmF6cXV4/",
        },
        "sms_code": "4821",
        "recipient": {"name": "Alex Kim"},
    },
    "update": {
        "incident": {
            "status": "identified",
            "status_display": "Identified",
            "duration": "45 min",
            "next_update_at": "2026-11-24 15:20 UTC",
        },
        "update": {
            "text": "The 14:00 deploy broke the load balancer configuration.",
            "impact": "Website still unavailable for all users",
            "next_steps": "Roll back the deploy, then verify the health checks.",
            "eta": "15:10 UTC",
            "posted_at": "2026-11-24 14:50 UTC",
        },
    },
    "resolution": {
        "incident": {
            "status": "resolved",
            "status_display": "Resolved",
            "resolved_at": "2026-11-24 15:17 UTC",
            "duration": "1 h 12 min",
            "next_update_at": "",
            "root_cause": "A load balancer rule in the 14:00 deploy sent all"
            " traffic to a drained pool.",
            "resolution_type": "Rollback",
            "resolution": "Rolled back the deploy; health checks are green.",
        },
    },
    "reminder": {
        "incident": {"status": "identified", "status_display": "Identified"},
        "reminder": {
            "stage": "remind",
            "due_at": "2026-11-24 14:35 UTC",
            "overdue": "0 min",
        },
    },
    "verification": {"incident": {}, "code": "123456"},
    "test": {"incident": {}},
    "contact_test": {
        "incident": {},
        "links": {"confirm": "https://vigil.example.com/confirm/Zm9vYmFy/"},
        "code": "4821",
        "contact_test": {"stage": "test", "sent_at": "2026-10-01 10:00 UTC"},
    },
    "notice": {
        "notice": {
            "subject": "PIR of INC-2026-11-24-001: initial report due in 4 h",
            "text": "The initial report of the post-incident review of"
            " INC-2026-11-24-001 (Site down) is due at 2026-11-25 15:17 UTC.",
        },
    },
}


def sample_context(kind: str) -> dict[str, Any]:
    """Return a realistic context for `kind` (for previews, checks and tests)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    sample = copy.deepcopy(_SAMPLE_BY_KIND.get(kind, {}))
    incident = sample.pop("incident", None)
    context: dict[str, Any] = {
        "incident": {} if incident == {} else {**_SAMPLE_INCIDENT, **(incident or {})},
        "recipient": {"name": "Alex Kim"},
        "is_drill": False,
        **sample,
    }
    return _with_defaults(context)


def _check_kind_and_format(kind: str, format: str) -> None:
    """Raise ValueError for a kind or format this module does not know."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if format not in FORMATS:
        raise ValueError(f"unknown message format {format!r}")


def _render_format(
    format: str, source: str, values: Mapping[str, Any], is_drill: bool, *, edited: bool
) -> str:
    """Render one format from `source` and finish it; raise `TemplateProblem`."""
    cap = OUTPUT_CAPS[format]
    abort_past = cap * RUNAWAY_FACTOR if edited else None
    text = render(compile_template(source), values, abort_past=abort_past).strip()
    if format == "subject":
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    else:
        text = _BLANK_LINES.sub("\n\n", text)
    if not text:
        raise TemplateProblem("it rendered an empty message")
    # Once here rather than in each template, so that edited templates are
    # marked too; a template that already says it is not marked twice.
    if is_drill and not text.startswith(DRILL_PREFIX.strip()):
        text = DRILL_PREFIX + text
    if len(text) > cap:
        text = text[: cap - 1].rstrip() + "…"
    return text


def _render_builtin(
    kind: str, format: str, values: Mapping[str, Any], is_drill: bool, errors: list[str]
) -> str:
    """Render the built-in template, or a minimal line should even that fail.

    The built-ins are tested against every sample context, so a failure here
    means a context of an unexpected shape: log it as the bug it is, and
    still send something.
    """
    try:
        return _render_format(
            format, BUILTIN[kind][format], values, is_drill, edited=False
        )
    except TemplateProblem as problem:
        logger.error("built-in %s template of %r failed: %s", format, kind, problem)
        errors.append(
            f"built-in {format} template of {kind!r}: {problem};"
            " a minimal message was used"
        )
    incident = values["incident"]
    if kind == "verification":
        minimal = f"Your Vigil verification code is {values['code']}"
    elif kind == "test":
        minimal = "Test message from Vigil: this contact method works."
    elif kind == "contact_test":
        minimal = f"Vigil contact-method test: confirm at {values['links']['confirm']}"
    else:
        parts = [incident.get("severity"), incident.get("id"), incident.get("title")]
        minimal = " ".join(str(part) for part in parts if part) or "Vigil incident"
        if format != "subject" and incident.get("url"):
            minimal += f" {incident['url']}"
    prefix = DRILL_PREFIX if is_drill else ""
    return (prefix + " ".join(minimal.split()))[: OUTPUT_CAPS[format]]


def _clipped(value: Any) -> Any:
    """Return `value` with every string cut to `MAX_CONTEXT_STRING`."""
    if isinstance(value, str) and len(value) > MAX_CONTEXT_STRING:
        return value[: MAX_CONTEXT_STRING - 1] + "…"
    if isinstance(value, Mapping):
        return {key: _clipped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clipped(item) for item in value]
    return value


def _message(
    kind: str, texts: Mapping[str, str], values: Mapping[str, Any], is_drill: bool
) -> Message:
    """Return the `Message` for the rendered `texts` and the context `values`."""
    incident = values["incident"]
    links = values["links"]
    return Message(
        subject=texts["subject"],
        text=texts["text"],
        chat=texts["chat"],
        short=texts["short"],
        kind=kind,
        severity=str(incident["severity"] or ""),
        severity_color=str(incident["severity_color"] or DEFAULT_SEVERITY_COLOR),
        title=str(incident["title"] or ""),
        incident_id=str(incident["id"] or ""),
        incident_url=str(incident["url"] or ""),
        acknowledge_url=str(links["acknowledge"] or ""),
        resolve_url=str(links["resolve"] or ""),
        is_drill=is_drill,
    )
