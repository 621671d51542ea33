"""Durations of a drill report as the SOPs write them, for its admin page."""

from __future__ import annotations

from datetime import timedelta

from django import template

from incidents.formatting import human_duration

register = template.Library()


@register.filter
def took(value: timedelta | None, none: str = "—") -> str:
    """15 min, 1 h 10 min; `none` (— by default) for no duration."""
    return human_duration(value) if value is not None else none
