"""Time spans as (begin, end) pairs."""

from __future__ import annotations

from datetime import datetime

Span = tuple[datetime, datetime]


def union(spans: list[Span]) -> list[Span]:
    """Return the spans merged where they overlap or touch, in order."""
    merged: list[Span] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
