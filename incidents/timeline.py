"""The registry of timeline event kinds.

The timeline is the incident core's, but each app names the events it
writes there: its `timeline_kinds.py` registers each kind (the value stored
in the row, the label shown for it) with `timeline_kind`, and its AppConfig
imports that module in `ready()`. The column stores the value and has no
database choices, so a new kind needs no incidents migration; the admin,
the API (its field and the OpenAPI enum `TimelineKindEnum`) and the Markdown
export read the values and labels from here.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class TimelineKind(str):
    """A kind of timeline event: its stored value, carrying its label."""

    label: str

    def __new__(cls, value: str, label: str) -> TimelineKind:
        kind = super().__new__(cls, value)
        kind.label = label
        return kind


_KINDS: dict[str, TimelineKind] = {}


def timeline_kind(value: str, label: str) -> TimelineKind:
    """Register the kind `value`, shown as `label`, and return it."""
    known = _KINDS.get(value)
    if known is not None and known.label != label:
        raise ImproperlyConfigured(
            f"timeline kind {value!r} is registered twice: "
            f"{known.label!r} and {label!r}"
        )
    _KINDS[value] = kind = TimelineKind(value, label)
    return kind


def timeline_kind_choices() -> list[tuple[str, str]]:
    """Return every registered kind as (value, label), in registration order."""
    return [(kind, kind.label) for kind in _KINDS.values()]


def timeline_kind_label(value: str) -> str:
    """Return the label of the kind `value` (the value itself if unknown)."""
    known = _KINDS.get(value)
    return known.label if known is not None else value
