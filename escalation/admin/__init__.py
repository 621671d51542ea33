"""Django admin of the escalation app: every change goes through the services."""

from escalation.admin import policies, schedules

__all__ = ["policies", "schedules"]
