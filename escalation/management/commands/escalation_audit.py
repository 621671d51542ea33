"""List escalations that are overdue or missing; `--fix` drives them again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from escalation.services.audit import GRACE, AuditRow, escalations_audit

COLUMNS = ("INCIDENT", "PROBLEM", "STATE", "LEVEL", "DUE AT", "OVERDUE BY")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _level(row: AuditRow) -> str:
    if row.level is None:
        return "—"
    following = f" → L{row.next_level}" if row.next_level else ""
    return f"L{row.level}{following}"


def _cells(row: AuditRow) -> tuple[str, ...]:
    return (
        row.incident,
        row.problem,
        row.state or "—",
        _level(row),
        row.due_at.isoformat(timespec="seconds"),
        _duration(row.overdue),
    )


def _as_json(row: AuditRow) -> dict[str, Any]:
    return {
        "incident": row.incident,
        "problem": row.problem,
        "state": row.state or None,
        "level": row.level,
        "next_level": row.next_level,
        "due_at": row.due_at.isoformat(),
        "overdue_seconds": round(row.overdue.total_seconds(), 3),
        "action": row.action or None,
    }


class Command(BaseCommand):
    help = (
        "List active escalations whose next step is overdue and triggered "
        "incidents with no escalation; with --fix, fire what is due and start "
        "what is missing. Always exits 0."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Drive each one found again."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument(
            "--grace",
            type=int,
            default=int(GRACE.total_seconds()),
            help="Seconds past due before a step counts as overdue (default 10).",
        )

    def handle(self, *args: Any, fix: bool, grace: int, **options: Any) -> None:
        rows = escalations_audit(
            now=timezone.now(), fix=fix, grace=timedelta(seconds=grace)
        )
        if options["json"]:
            self.stdout.write(json.dumps([_as_json(row) for row in rows], indent=2))
            return
        if not rows:
            self.stdout.write("No overdue or missing escalations.")
            return
        table = [COLUMNS, *(_cells(row) for row in rows)]
        widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
        for line in table:
            cells = (cell.ljust(w) for cell, w in zip(line, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
        self.stdout.write(f"{len(rows)} found.")
        for row in rows if fix else ():
            self.stdout.write(f"{row.incident}: {row.action}")
