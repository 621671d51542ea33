"""Start a contact-method test of every verified contact method now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import contact_test_round_start


class Command(BaseCommand):
    help = (
        "Send every verified contact method of an active user a test message "
        "with a confirm link (SMS and voice: a CONFIRM code); unconfirmed ones "
        "are reminded and reported to their team leads like the quarterly test."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = contact_test_round_start()
        count = started.tests.count() if started is not None else 0
        self.stdout.write(
            f"Contact test {started.key if started else ''}: "
            f"{count} test message{'s' if count != 1 else ''} written."
        )
