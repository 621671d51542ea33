"""The message renderer: the SOPs' templates, drills, edited templates, sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from notifications import rendering
from notifications.rendering import (
    FORMATS,
    KINDS,
    builtin_source,
    render_message,
    sample_context,
    sandbox,
    validate_template,
)

INCIDENT_URL = "https://vigil.example.com/incidents/INC-2026-11-24-001/"
ACK_URL = "https://vigil.example.com/a/Zm9vYmFy/"


def lines(text: str) -> list[str]:
    return text.splitlines()


def context(kind: str, **changes: Any) -> dict[str, Any]:
    """Return the sample context of `kind` with `incident` keys changed."""
    values = sample_context(kind)
    values["incident"].update(changes)
    return values


def builtin_chat(kind: str = "initial") -> str:
    return render_message(kind=kind, context=sample_context(kind)).message.chat


# --- the built-in templates say what the SOPs say -------------------------


def test_initial_subject_is_the_protocols_p0_subject() -> None:
    message = render_message(kind="initial", context=sample_context("initial")).message
    assert message.subject == "[P0 INCIDENT] - Site down"


def test_initial_chat_is_the_sops_incident_declared_block() -> None:
    chat = lines(builtin_chat("initial"))
    assert chat[0] == "🚨 **Incident Declared** 🚨"
    assert chat[1] == ""
    assert chat[2:7] == [
        "**Incident ID**: INC-2026-11-24-001",
        "**Severity**: P0 - Critical",
        "**Start Time**: 2026-11-24 14:05 UTC",
        "**Impact**: Website completely unavailable (12000 users affected)",
        "",
    ]
    assert chat[7:9] == [
        "**Status**: Investigating",
        "**Next Update**: 2026-11-24 14:35 UTC",
    ]
    assert (
        "We're investigating an issue affecting Website: Site down."
        " We'll provide updates every 30 minutes."
    ) in chat
    assert "**War Room**: #incident-20261124-site-down" in chat
    assert f"**Details**: {INCIDENT_URL}" in chat


def test_initial_chat_without_a_cadence_promises_updates_without_a_number() -> None:
    values = context("initial", update_cadence_minutes=None, next_update_at="")
    chat = render_message(kind="initial", context=values).message.chat
    assert "**Next Update**" not in chat
    assert "We'll provide updates as soon as we know more." in chat


def test_initial_email_body_has_the_protocols_lines() -> None:
    values = sample_context("initial")
    values["links"] = {"acknowledge": ACK_URL, "resolve": ""}
    text = lines(render_message(kind="initial", context=values).message.text)
    assert text[1:6] == [
        "SEVERITY: P0 - Critical",
        "STATUS: Investigating",
        "IMPACT: Website completely unavailable (12000 users affected)",
        "STARTED: 2026-11-24 14:05 UTC",
        "IC: Dana Reyes",
    ]
    assert (
        "We are currently experiencing an incident: Site down."
        " The team is investigating and working on restoration."
    ) in text
    assert "Next update: 2026-11-24 14:35 UTC" in text
    assert f"Incident: {INCIDENT_URL}" in text
    assert f"Acknowledge: {ACK_URL}" in text


def test_initial_email_leaves_out_missing_links_and_commander() -> None:
    values = context("initial", url="", commander="")
    text = render_message(kind="initial", context=values).message.text
    assert "Acknowledge:" not in text
    assert "Incident: http" not in text
    assert "IC: not assigned yet" in lines(text)
    assert "\n\n\n" not in text


def test_initial_short_names_severity_id_title_status_and_link() -> None:
    message = render_message(kind="initial", context=sample_context("initial")).message
    assert message.short == (
        f"[P0] INC-2026-11-24-001 Site down - investigating. {INCIDENT_URL}"
    )


def test_update_uses_the_status_update_templates() -> None:
    message = render_message(kind="update", context=sample_context("update")).message
    assert message.subject == "[P0 INCIDENT] - UPDATE - Site down"
    chat = lines(message.chat)
    assert chat[0] == "📊 **Incident Update** 📊"
    assert chat[2:5] == [
        "**Incident ID**: INC-2026-11-24-001",
        "**Time**: 2026-11-24 14:50 UTC",
        "**Status**: Identified",
    ]
    assert "**ETA**: 15:10 UTC" in chat
    assert "Next update in 30 minutes." in chat
    text = message.text
    assert "SEVERITY: P0 - Critical\nSTATUS: Identified\nDURATION: 45 min\n" in text
    assert "UPDATE:\nThe 14:00 deploy broke the load balancer configuration.\n" in text
    assert "IMPACT:\nWebsite still unavailable for all users\n" in text
    assert "NEXT STEPS:\nRoll back the deploy, then verify the health checks.\n" in text
    assert "ETA: 15:10 UTC\nNext update: 2026-11-24 15:20 UTC" in text


def test_update_email_leaves_out_empty_sections() -> None:
    values = sample_context("update")
    values["update"] = {"text": "Still digging.", "impact": "", "next_steps": ""}
    text = render_message(kind="update", context=values).message.text
    assert "NEXT STEPS:" not in text
    assert "ETA: not known yet" in text
    assert "IMPACT:\nWebsite completely unavailable\n" in text


def test_resolution_uses_the_resolution_templates() -> None:
    message = render_message(
        kind="resolution", context=sample_context("resolution")
    ).message
    assert message.subject == "[RESOLVED] P0 Incident - Site down"
    chat = lines(message.chat)
    assert chat[0] == "✅ **Incident Resolved** ✅"
    assert chat[2:5] == [
        "**Incident ID**: INC-2026-11-24-001",
        "**Resolved**: 2026-11-24 15:17 UTC",
        "**Duration**: 1 h 12 min",
    ]
    assert (
        "We apologize for any disruption."
        " Full incident report will be shared within 24 hours."
    ) in chat
    text = message.text
    assert "STATUS: Resolved\nDURATION: 1 h 12 min\nRESOLVED: 2026-11-24 15:17" in text
    assert "ROOT CAUSE:\nA load balancer rule" in text
    assert "RESOLUTION:\nRollback: Rolled back the deploy" in text
    assert "Full incident report will be available within 24 hours." in text


def test_resolution_of_a_p3_promises_no_incident_report() -> None:
    values = context("resolution", severity="P3", severity_name="Low")
    message = render_message(kind="resolution", context=values).message
    assert message.subject == "[RESOLVED] P3 Incident - Site down"
    assert "incident report" not in message.chat
    assert "incident report" not in message.text


def test_page_addresses_the_responder_with_the_links_first() -> None:
    message = render_message(kind="page", context=sample_context("page")).message
    assert message.subject == "[P0 INCIDENT] - Site down"
    chat = message.chat
    assert "Alex Kim, you are being paged for **Site down**." in chat
    assert chat.index(f"**Acknowledge**: {ACK_URL}") < chat.index("**Incident ID**")
    assert "**Resolve**: https://vigil.example.com/r/YmF6cXV4/" in chat
    assert message.text.startswith("Alex Kim, you are being paged for this incident.")
    assert message.text.index(f"Acknowledge: {ACK_URL}") < message.text.index(
        "SEVERITY: P0 - Critical"
    )


def test_page_sms_asks_for_the_ack_code_and_adds_the_link_when_it_fits() -> None:
    message = render_message(kind="page", context=sample_context("page")).message
    assert message.short == (
        f"[P0] INC-2026-11-24-001 Site down. Reply ACK 4821 to acknowledge. {ACK_URL}"
    )


def test_page_sms_drops_a_link_that_would_not_fit_one_segment() -> None:
    values = sample_context("page")
    values["links"]["acknowledge"] = "https://vigil.example.com/a/" + "t" * 120
    short = render_message(kind="page", context=values).message.short
    assert short == "[P0] INC-2026-11-24-001 Site down. Reply ACK 4821 to acknowledge."


def test_verification_and_test_say_the_same_in_every_format() -> None:
    verification = render_message(
        kind="verification", context=sample_context("verification")
    ).message
    assert verification.subject == "Vigil verification code"
    for text in (verification.text, verification.chat, verification.short):
        assert text == "Your Vigil verification code is 123456"
    test = render_message(kind="test", context=sample_context("test")).message
    for format in FORMATS:
        assert getattr(test, format) == (
            "Test message from Vigil: this contact method works."
        )


def test_values_are_inserted_as_they_are_without_html_escaping() -> None:
    values = context("initial", title="R&D <api> 'quotes' \"too\"")
    message = render_message(kind="initial", context=values).message
    assert message.subject == "[P0 INCIDENT] - R&D <api> 'quotes' \"too\""
    assert "R&D <api> 'quotes'" in message.chat


def test_message_carries_the_incident_facts_for_transports() -> None:
    message = render_message(kind="page", context=sample_context("page")).message
    assert (message.kind, message.severity, message.severity_color) == (
        "page",
        "P0",
        "#dc2626",
    )
    assert (message.title, message.incident_id) == ("Site down", "INC-2026-11-24-001")
    assert message.incident_url == INCIDENT_URL
    assert message.acknowledge_url == ACK_URL
    assert message.resolve_url == "https://vigil.example.com/r/YmF6cXV4/"
    assert (message.is_drill, message.delivery_id, message.data) == (False, "", {})


def test_a_context_missing_keys_still_renders_the_built_ins() -> None:
    values = {"incident": {"id": "INC-2026-11-24-002", "title": "DB", "severity": "P1"}}
    rendered = render_message(kind="update", context=values)
    assert rendered.errors == []
    assert rendered.message.subject == "[P1 INCIDENT] - UPDATE - DB"
    assert rendered.message.severity_color == "#6b7280"
    assert "None" not in rendered.message.text


def test_huge_context_strings_are_cut_instead_of_failing_the_built_ins() -> None:
    values = context("initial", summary="s" * 1_000_000, impact="i" * 1_000_000)
    rendered = render_message(kind="initial", context=values)
    assert rendered.errors == []
    assert rendered.message.chat.startswith("🚨 **Incident Declared** 🚨")
    assert len(rendered.message.chat) == rendering.OUTPUT_CAPS["chat"]
    assert "s" * 4_000 in rendered.message.text


# --- drills ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_drill_is_marked_at_the_start_of_every_format(kind: str) -> None:
    values = sample_context(kind)
    values["is_drill"] = True
    rendered = render_message(kind=kind, context=values)
    assert rendered.errors == []
    assert rendered.message.is_drill is True
    for format in FORMATS:
        assert getattr(rendered.message, format).startswith("[DRILL] ")


def test_a_drill_marks_the_chat_header_line_and_the_subject() -> None:
    values = sample_context("initial")
    values["is_drill"] = True
    message = render_message(kind="initial", context=values).message
    assert lines(message.chat)[0] == "[DRILL] 🚨 **Incident Declared** 🚨"
    assert message.subject == "[DRILL] [P0 INCIDENT] - Site down"


def test_a_drill_marks_an_edited_template_too_but_only_once() -> None:
    values = sample_context("initial")
    values["is_drill"] = True
    overrides = {
        "chat": "Custom {{ incident.id }}",
        "subject": "{{ '[DRILL] ' if is_drill else '' }}{{ incident.title }}",
    }
    message = render_message(kind="initial", context=values, overrides=overrides)
    assert message.message.chat == "[DRILL] Custom INC-2026-11-24-001"
    assert message.message.subject == "[DRILL] Site down"


# --- edited templates -----------------------------------------------------


def test_a_valid_edited_template_is_used_for_its_format_only() -> None:
    overrides = {"chat": "**{{ incident.severity }}** {{ incident.title|upper }}"}
    rendered = render_message(
        kind="initial", context=sample_context("initial"), overrides=overrides
    )
    assert rendered.errors == []
    assert rendered.message.chat == "**P0** SITE DOWN"
    assert rendered.message.subject == "[P0 INCIDENT] - Site down"


def test_a_blank_edited_template_means_the_built_in() -> None:
    rendered = render_message(
        kind="initial", context=sample_context("initial"), overrides={"chat": " \n"}
    )
    assert rendered.errors == []
    assert rendered.message.chat == builtin_chat()


def test_an_unknown_format_in_overrides_is_reported_and_ignored() -> None:
    rendered = render_message(
        kind="initial", context=sample_context("initial"), overrides={"html": "<p>"}
    )
    assert rendered.errors == [
        "'html' template of 'initial': there is no such format; it was ignored"
    ]
    assert rendered.message.chat == builtin_chat()


BROKEN_TEMPLATES = {
    "syntax error": ("{{ incident.title ", "line 1: unexpected end of template"),
    "undefined variable": ("{{ foo }}", "'foo' is undefined"),
    "typo in a key": ("{{ incident.titel }}", "has no attribute 'titel'"),
    "class escape": ("{{ ''.__class__.__mro__ }}", "'__class__' of 'str'"),
    "globals escape": ("{{ cycler.__init__.__globals__ }}", "is unsafe"),
    "context escape": (
        "{{ self._TemplateReference__context }}",
        "'_TemplateReference__context'",
    ),
    "format escape": ("{{ '{0.__class__}'.format(incident) }}", "'format'"),
    "huge padding": ("{{ incident.title.ljust(10**9) }}", "'ljust'"),
    "mutation": ("{% set l = [1] %}{{ l.append(2) }}", "'append'"),
    "oversized source": ("x" * 10_001, "10,001 characters; at most 10,000"),
    "huge output": (
        "{% for i in range(100) %}{% for j in range(100) %}"
        "{{ incident.title }}{% endfor %}{% endfor %}",
        "the output ran past 14,000 characters",
    ),
    "huge range": ("{% for i in range(10**9) %}.{% endfor %}", "range()"),
    "long loop": ("{% for c in 'x' * 500 %}{{ c }}{% endfor %}", "at most 100 times"),
    "string bomb": ("{{ 'x' * 10**9 }}", "repeating a value would pass"),
    "number bomb": ("{{ 10**10**10 }}", "the number is too large"),
    "doubling": ("{% set a = 'x' * 20000 %}{{ a ~ a }}", "would pass 20,000"),
    "nested lists": (
        "{% set a = ['x' * 5000] %}{% set b = [a, a, a, a, a] %}{{ [b, b] }}",
        "grew past 20,000",
    ),
    "replace bomb": ("{{ ('x' * 9000)|replace('', 'yy') }}", "replace would pass"),
    "three-deep loops": (
        "{% for a in range(2) %}{% for b in range(2) %}{% for c in range(2) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "loops may be nested at most 2 deep",
    ),
    "macro": ("{% macro f() %}x{% endmacro %}{{ f() }}", "{% macro %} is not"),
    "recursive loop": (
        "{% for x in [1] recursive %}{{ loop([]) }}{% endfor %}",
        "recursive loops",
    ),
    "busy loop": (
        "{% set s = 'x' * 20000 %}{% for i in range(100) %}"
        "{% if s.upper() %}{% endif %}{% endfor %}.",
        "too much work",
    ),
    "string formatting": ("{{ '%999999999s' % 'x' }}", "%-formatting"),
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
    "deep nesting": ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nests too"),
    "empty output": ("{% if false %}x{% endif %}", "it rendered an empty message"),
}


@pytest.mark.parametrize(
    ("source", "reason"), BROKEN_TEMPLATES.values(), ids=BROKEN_TEMPLATES.keys()
)
def test_a_broken_edited_template_falls_back_and_reports_one_line(
    source: str, reason: str
) -> None:
    rendered = render_message(
        kind="initial", context=sample_context("initial"), overrides={"chat": source}
    )
    assert rendered.message.chat == builtin_chat()
    assert len(rendered.errors) == 1
    error = rendered.errors[0]
    assert error.startswith("chat template of 'initial': ")
    assert error.endswith("; the built-in one was used")
    assert reason in error
    assert "\n" not in error


def test_each_broken_format_reports_its_own_line() -> None:
    overrides = {"subject": "{{ nope }}", "short": "{% for %}", "text": "Fine"}
    rendered = render_message(
        kind="page", context=sample_context("page"), overrides=overrides
    )
    assert [error.split(" template")[0] for error in rendered.errors] == [
        "subject",
        "short",
    ]
    assert rendered.message.subject == "[P0 INCIDENT] - Site down"
    assert rendered.message.text == "Fine"


def test_a_failing_built_in_still_sends_a_minimal_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(rendering.BUILTIN["initial"], "chat", "{{ missing }}")
    rendered = render_message(kind="initial", context=sample_context("initial"))
    assert rendered.message.chat == f"P0 INC-2026-11-24-001 Site down {INCIDENT_URL}"
    assert rendered.errors == [
        "built-in chat template of 'initial': 'missing' is undefined;"
        " a minimal message was used"
    ]


def test_compiled_templates_are_cached_by_source() -> None:
    source = "cached {{ incident.id }} 7f3a"
    before = sandbox._compile.cache_info()
    for _ in range(3):
        render_message(
            kind="initial",
            context=sample_context("initial"),
            overrides={"chat": source},
        )
    after = sandbox._compile.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits >= 2


# --- output caps ----------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "cap"), [("chat", 3_500), ("text", 20_000), ("short", 480)]
)
def test_output_over_the_cap_is_cut_with_an_ellipsis(format: str, cap: int) -> None:
    # Twice the cap: over it, but short of the runaway limit.
    source = "{% for i in range(10) %}{{ 'x' * " + str(cap // 5) + " }}{% endfor %}"
    rendered = render_message(
        kind="initial", context=sample_context("initial"), overrides={format: source}
    )
    assert rendered.errors == []
    text = getattr(rendered.message, format)
    assert len(text) == cap
    assert text.endswith("x…")


def test_the_subject_is_one_line_and_cut_at_200() -> None:
    source = "Line one\n\n  line two {{ 'y' * 300 }}"
    subject = render_message(
        kind="initial", context=sample_context("initial"), overrides={"subject": source}
    ).message.subject
    assert subject.startswith("Line one line two yyy")
    assert len(subject) == 200
    assert subject.endswith("y…")


def test_a_drill_prefix_counts_within_the_cap() -> None:
    values = sample_context("initial")
    values["is_drill"] = True
    short = render_message(
        kind="initial", context=values, overrides={"short": "{{ 'z' * 600 }}"}
    ).message.short
    assert short.startswith("[DRILL] zzz")
    assert len(short) == 480


# --- validate_template ----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_validate_accepts_every_built_in(kind: str) -> None:
    for format in FORMATS:
        source = builtin_source(kind, format)
        assert validate_template(kind=kind, format=format, source=source) == []


def test_validate_reports_a_syntax_error_with_its_line() -> None:
    errors = validate_template(
        kind="initial", format="chat", source="Hello\n{{ incident.title "
    )
    assert errors == [
        "line 2: unexpected end of template, expected 'end of print statement'"
    ]


def test_validate_reports_a_trial_render_failure_against_the_sample() -> None:
    errors = validate_template(kind="update", format="text", source="{{ updat.text }}")
    assert errors == ["with the sample update message: 'updat' is undefined"]


def test_validate_reports_forbidden_constructs_and_size() -> None:
    nested = (
        "{% for a in b %}{% for c in a %}{% for d in c %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    )
    assert validate_template(kind="page", format="short", source=nested) == [
        "loops may be nested at most 2 deep"
    ]
    assert validate_template(kind="page", format="short", source="x" * 10_001) == [
        "the template has 10,001 characters; at most 10,000 are allowed"
    ]


def test_validate_accepts_a_blank_template_and_refuses_unknown_names() -> None:
    assert validate_template(kind="initial", format="chat", source="  ") == []
    with pytest.raises(ValueError, match="format 'html'"):
        validate_template(kind="initial", format="html", source="x")
    with pytest.raises(ValueError, match="kind 'postmortem'"):
        validate_template(kind="postmortem", format="chat", source="x")


# --- samples and sources --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_sample_context_renders_cleanly_in_every_format(kind: str) -> None:
    rendered = render_message(kind=kind, context=sample_context(kind))
    assert rendered.errors == []
    for format in FORMATS:
        text = getattr(rendered.message, format)
        assert text.strip()
        assert "None" not in text
        assert "{{" not in text
        assert "{%" not in text
        assert len(text) <= rendering.OUTPUT_CAPS[format]


def test_sample_context_returns_a_fresh_copy_each_time() -> None:
    first = sample_context("page")
    first["incident"]["title"] = "changed"
    first["links"]["acknowledge"] = ""
    second = sample_context("page")
    assert second["incident"]["title"] == "Site down"
    assert second["links"]["acknowledge"] == ACK_URL


def test_builtin_source_is_the_template_text_an_admin_edits() -> None:
    assert "🚨 **Incident Declared** 🚨" in builtin_source("initial", "chat")
    assert builtin_source("verification", "subject") == "Vigil verification code"
    with pytest.raises(ValueError, match="kind 'postmortem'"):
        builtin_source("postmortem", "chat")


def test_render_message_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind 'postmortem'"):
        render_message(kind="postmortem", context={})
