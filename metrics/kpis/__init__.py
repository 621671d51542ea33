"""Process KPIs: each one a small module that registers itself here.

A KPI is a function of a `Context` (the incidents the caller's filters
select) returning rows of one shape (`Row`). Adding one is a module in this
package with a `@register(...)` function and its name in `MODULES`;
docs/metrics.md has the steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from django.db.models import QuerySet

from metrics.cadence import cadence_counts


class Row(TypedDict):
    kpi: str
    subject: str  # what the row is about: a channel kind, a level, a severity
    value: float | int | None
    unit: str  # "ratio" (0 to 1), "count" or "seconds"
    sample: int  # how many things the value is computed over
    target: float | None


@dataclass
class Context:
    incidents: QuerySet[Any]  # the incidents the filters select
    now: datetime
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The rollups' share of them: those the cells do not hold, and per
    # severity the cells' counts of the rest (`cell_counts`, and
    # `open_below` for their cadence).
    raw: QuerySet[Any] | None = None
    cells: dict[str, dict[str, int]] = field(default_factory=dict)

    def uncelled(self) -> QuerySet[Any]:
        """Return the incidents the cells do not hold."""
        return self.incidents if self.raw is None else self.raw

    def count(self) -> int:
        """Return how many incidents the filters select."""
        cells = sum(cell["incidents"] for cell in self.cells.values())
        return self.uncelled().count() + cells

    def update_cadence(self) -> dict[str, tuple[int, int]]:
        """Return per severity with a cadence (updates due, updates missed)."""
        return cadence_counts(
            unposted=self.uncelled(),
            posted=self.incidents,
            cells=self.cells,
            targets=self.targets,
            now=self.now,
        )


Compute = Callable[[Context], list[Row]]


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    compute: Compute


REGISTRY: dict[str, Kpi] = {}
MODULES = (
    "status_updates",
    "repeats",
    "deliveries",
    "escalations",
    "pir_completion",
    "time_to_pir",
    "action_items",
    "overdue_action_items",
)


def register(key: str, label: str) -> Callable[[Compute], Compute]:
    """Register the decorated function as the KPI `key`."""

    def decorate(compute: Compute) -> Compute:
        if key in REGISTRY:
            raise ValueError(f"KPI {key!r} is registered twice")
        REGISTRY[key] = Kpi(key, label, compute)
        return compute

    return decorate


def row(
    kpi: str,
    subject: str,
    value: float | int | None,
    *,
    unit: str,
    sample: int,
    target: float | None = None,
) -> Row:
    return Row(
        kpi=kpi, subject=subject, value=value, unit=unit, sample=sample, target=target
    )


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def load() -> dict[str, Kpi]:
    """Import every KPI module once; return the registry."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY


def compute(context: Context, keys: list[str] | None = None) -> list[Row]:
    """Return the rows of the KPIs named (of all, by default), in order."""
    kpis = load()
    rows: list[Row] = []
    for key in keys or list(kpis):
        rows += kpis[key].compute(context)
    return rows
