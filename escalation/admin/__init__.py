"""Django admin of the escalation app: every change goes through the services."""

from escalation.admin import drills, escalations, policies, schedules, warroom

__all__ = ["drills", "escalations", "policies", "schedules", "warroom"]
