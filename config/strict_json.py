"""JSON as Vigil accepts it: standard, finite, and nested a bounded depth.

Python's `json` reads `NaN`, `Infinity` and numbers too large for a float
(as infinity): none of them is JSON, PostgreSQL refuses to store them, and
the refusal used to surface as a 500. It also recurses once per level of
nesting, with the interpreter's recursion limit as its only bound: a body
nested 950 levels deep was read at the request, stored, and then failed in
every worker whose stack happened to be deeper, blocking the integration's
events behind it. Here the depth is measured first, without recursion, and
only bodies within `max_depth` are parsed.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

# An escaped character inside a string: dropped before strings are found, so
# that an escaped quote does not end one.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Escapes of what PostgreSQL stores in no JSON or text value: NUL (preceded by
# an even run of backslashes, so not itself an escaped backslash), and UTF-16
# surrogates, of which only whole pairs (an emoji, say) make a character.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
# The deepest nesting Vigil ever decodes, whatever the configured limit: well
# within what Python's recursive JSON code (decoding, indenting for display)
# can do from any stack Vigil runs it on.
DEPTH_CEILING = 200


class JSONRefused(ValueError):
    """The text is not JSON that Vigil accepts; the message says why."""


def nesting_depth(text: str, *, above: int) -> int:
    """Return how deep `text` nests arrays and objects, or at most any value
    above `above` once it is known to be deeper: iteratively, in C-speed
    passes, so that no depth can exhaust the stack.

    Brackets inside strings do not count. For text that is not valid JSON the
    answer is an upper bound of what a parser would reach before failing.
    """
    opens = text.count("[") + text.count("{")
    if opens <= above:  # the usual body: there are not enough brackets
        return opens
    if '"' in text:
        # Outside the strings are the even pieces between quotes, once the
        # escaped characters (an escaped quote among them) are gone.
        text = "".join(_ESCAPE.sub("", text).split('"')[::2])
    brackets = _NOT_BRACKET.sub("", text)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> float:
    raise JSONRefused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONRefused(f"the number {text[:40]} is too large")
    return value


# Built once: json.loads() with hooks would build a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads(raw: bytes | str, *, max_depth: int) -> Any:
    """Return the value of a standard JSON text nested at most `max_depth`
    levels deep; raise JSONRefused (a ValueError) with the reason otherwise.

    Refused: malformed JSON, text that is not UTF-8 (or UTF-16/32 with a
    byte order json recognises), `NaN`, `Infinity`, `-Infinity`, numbers
    that overflow a float, deeper nesting, and the two escapes PostgreSQL
    cannot store: `\\u0000` and a lone surrogate.
    """
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as error:
        raise JSONRefused(f"malformed JSON: {error}") from None
    if nesting_depth(text, above=max_depth) > max_depth:
        raise JSONRefused(f"nested deeper than {max_depth} levels")
    try:
        value = _DECODER.decode(text)
    except JSONRefused:
        raise
    except ValueError as error:
        raise JSONRefused(f"malformed JSON: {error}") from None
    _check_storable(text, value)
    return value


def _check_storable(text: str, value: Any) -> None:
    if "\\u0000" in text and _NUL.search(text):
        raise JSONRefused("the character \\u0000 (NUL) cannot be stored")
    if _SURROGATE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise JSONRefused(
                "a lone UTF-16 surrogate (\\ud800-\\udfff) is not a character"
            ) from None
