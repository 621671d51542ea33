"""Create the demo data a first run needs, once."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from escalation.demo import demo_escalation_policy_create
from incidents.models import Integration, TeamMembership
from incidents.selectors import service_by_slug, team_by_slug
from incidents.services import (
    integration_create,
    service_create,
    team_add_member,
    team_create,
)
from notifications.services import contact_method_create_outbox_email


class Command(BaseCommand):
    help = (
        "Create an admin user, a team, a service and an integration key on an "
        "empty database, and print the credentials. Does nothing if an admin exists."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--base-url",
            default=settings.VIGIL_BASE_URL,
            help="Where the printed links point (default: VIGIL_BASE_URL).",
        )

    @transaction.atomic
    def handle(self, *args: Any, username: str, base_url: str, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"Demo data already present: log in as {username!r} with the "
                "password printed on the first run "
                f"(reset: manage.py changepassword {username})."
            )
            return
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(
            username=username, email=f"{username}@example.com", password=password
        )
        token = Token.objects.create(user=admin)
        team = team_by_slug(slug="platform") or team_create(name="Platform")
        team_add_member(team=team, user=admin, role=TeamMembership.Role.LEAD)
        service = service_by_slug(slug="website") or service_create(
            name="Website", team=team, description="The public web site (demo)."
        )
        demo_escalation_policy_create(
            team=team,
            service=service,
            engineer=admin,
            lead=admin,
            commander=admin,
            manager=admin,
        )
        outbox = contact_method_create_outbox_email(user=admin)
        _, key = integration_create(
            name="Monitoring (demo)", kind=Integration.Kind.PAGERDUTY, service=service
        )
        self.stdout.write(
            self.style.SUCCESS("Vigil demo data created. Shown once — keep it:")
        )
        for label, value in (
            ("Admin", f"{base_url}/admin/"),
            ("  username", username),
            ("  password", password),
            ("API docs", f"{base_url}/api/docs/"),
            ("  API token", f"Authorization: Token {token.key}"),
            ("Team / service", f"{team.name} / {service.name}"),
            ("Escalation", "SOP escalation (L1 to L4), all levels page you for now"),
            (
                "Pages",
                f"e-mailed to {admin.email}: files under {settings.EMAIL_FILE_PATH}/"
                if outbox is not None
                else "add and verify a contact method to receive them",
            ),
            ("Integration key", key),
            ("  kind", "pagerduty: the routing_key of PagerDuty Events API v2"),
            ("  send events to", f"POST {base_url}/v2/enqueue"),
        ):
            self.stdout.write(f"  {label:<16} {value}")
