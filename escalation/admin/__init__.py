"""Django admin of the escalation app: every change goes through the services."""

from escalation.admin import escalations, policies, schedules, warroom

__all__ = ["escalations", "policies", "schedules", "warroom"]
