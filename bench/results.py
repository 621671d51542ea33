"""Where benchmark results go, and how a figure is judged against its target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stack import ROOT

RESULTS = ROOT / "bench" / "results"


def verdicts(
    figures: dict[str, float], targets: dict[str, tuple[str, float]]
) -> dict[str, dict[str, Any]]:
    """Return each target's value, target and pass/fail."""
    out = {}
    for name, (op, target) in targets.items():
        value = figures[name]
        ok = value >= target if op == ">=" else value <= target
        out[name] = {"value": round(value, 3), "target": f"{op} {target:g}", "pass": ok}
    return out


def write(result: dict[str, Any], output: Path) -> Path:
    """Write `result` as JSON to `output`; return the path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return output
