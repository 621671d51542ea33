"""Start a drill now: `manage.py run_drill <scenario> --team <team>`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalation.exceptions import DrillError
from escalation.models import DrillMode, DrillScenario
from escalation.services import drill_start
from incidents.formatting import when
from incidents.selectors import service_by_slug, team_by_slug


class Command(BaseCommand):
    help = (
        "Start a drill of a scenario (its slug) for a team: its alert goes "
        "through ingest, and the incident it opens pages for real, as a drill. "
        "Postponed instead while a real P0/P1 of the team is open."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario", help="the scenario's slug, e.g. site-down")
        parser.add_argument("--team", required=True, help="the team's slug")
        parser.add_argument(
            "--service", help="the service's slug (default: the scenario's)"
        )
        parser.add_argument(
            "--mode", choices=DrillMode.values, default=DrillMode.NORMAL
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scenario = DrillScenario.objects.filter(slug=options["scenario"]).first()
        if scenario is None:
            raise CommandError(f"no scenario {options['scenario']!r}")
        team = team_by_slug(slug=options["team"])
        if team is None:
            raise CommandError(f"no team {options['team']!r}")
        service = None
        if options["service"]:
            service = service_by_slug(slug=options["service"])
            if service is None:
                raise CommandError(f"no service {options['service']!r}")
        try:
            drill = drill_start(
                scenario=scenario, team=team, service=service, mode=options["mode"]
            )
        except DrillError as error:
            raise CommandError(error.message) from None
        ends = f", ends by {when(drill.ends_at)}" if drill.ends_at else ""
        self.stdout.write(
            f"Drill {drill.pk} ({scenario.name}, {team.name}): "
            f"{drill.get_state_display().lower()}{ends}"
            + (f". {drill.reason}" if drill.reason else "")
        )
