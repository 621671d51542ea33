"""Time spans as (begin, end) pairs."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

# A moment: a datetime, or seconds after some origin.
Moment = TypeVar("Moment", datetime, float)


def union(spans: list[tuple[Moment, Moment]]) -> list[tuple[Moment, Moment]]:
    """Return the spans merged where they overlap or touch, in order."""
    merged: list[tuple[Moment, Moment]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
