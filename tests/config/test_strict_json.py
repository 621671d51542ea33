"""Vigil's JSON reader: standard JSON only, nesting measured without recursion."""

from __future__ import annotations

import json
import sys

import pytest

from config.strict_json import JSONRefused, loads, nesting_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [{"b": []}]}', 4),
        ('["[[[[", "]]]]", {"a": "{{{{"}]', 2),
        ('[["\\"]]]]]]]]"]]', 2),  # an escaped quote does not end the string
        ('["\\\\", [[["x"]]]]', 4),  # an escaped backslash does not escape
    ],
)
def test_the_depth_counts_only_brackets_outside_strings(text, depth):
    assert nesting_depth(text, above=0) == depth
    assert loads(text, max_depth=depth) == json.loads(text)


def test_a_depth_far_beyond_the_recursion_limit_is_measured_not_recursed():
    depth = sys.getrecursionlimit() * 100
    text = "[" * depth + "]" * depth
    assert nesting_depth(text, above=64) == depth
    with pytest.raises(JSONRefused, match="nested deeper than 64 levels"):
        loads(text, max_depth=64)


def test_closing_brackets_inside_strings_cannot_hide_depth():
    text = '["' + "]" * 100 + '", ' + "[" * 100 + "]" * 100 + "]"
    with pytest.raises(JSONRefused, match="nested deeper than 64 levels"):
        loads(text, max_depth=64)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[NaN]", "NaN is not a JSON number"),
        ('{"a": Infinity}', "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("[1e999]", "the number 1e999 is too large"),
        ("[1", "malformed JSON: Expecting ',' delimiter"),
        (b'["\xff"]', "malformed JSON: 'utf-8' codec can't decode"),
        ('["a\\u0000b"]', "the character \\\\u0000 \\(NUL\\) cannot be stored"),
        ('["\\\\\\u0000"]', "NUL"),  # an escaped backslash, then the NUL
        ('{"\\ud800": 1}', "a lone UTF-16 surrogate"),
        ('["\\udc00\\ud800"]', "a lone UTF-16 surrogate"),
    ],
)
def test_what_is_not_standard_json_is_refused_with_the_reason(text, reason):
    with pytest.raises(JSONRefused, match=reason):
        loads(text, max_depth=64)


def test_escapes_that_only_look_like_nul_or_lone_surrogates_are_read():
    text = '["\\\\u0000", "\\ud83d\\ude00", "\\\\ud800"]'
    assert loads(text, max_depth=1) == ["\\u0000", "\U0001f600", "\\ud800"]


def test_large_finite_numbers_and_utf16_are_read():
    assert loads("[1.5e308, -2e-308, 123456789012345678901234567890]", max_depth=2)
    assert loads('{"a": 1}'.encode("utf-16"), max_depth=2) == {"a": 1}
