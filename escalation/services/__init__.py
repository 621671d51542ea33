"""Every state change of the escalation app goes through these services."""

from escalation.services.ack_expiry import escalation_expire_acknowledgements
from escalation.services.controls import (
    escalation_add_responder,
    escalation_escalate,
    escalation_reassign,
    escalation_renotify,
    escalation_severity_raised,
)
from escalation.services.engine import (
    escalation_fire_due,
    escalation_start,
    escalation_status_changed,
    escalations_sweep,
)
from escalation.services.overrides import (
    calendar_feed_get_or_create,
    calendar_feed_rotate,
    override_create,
    override_delete,
    schedule_swap,
)
from escalation.services.schedules import (
    LayerInput,
    layer_create,
    layer_delete,
    layer_update,
    schedule_create,
    schedule_delete,
    schedule_ical_rotate,
    schedule_update,
)

__all__ = [
    "LayerInput",
    "calendar_feed_get_or_create",
    "calendar_feed_rotate",
    "escalation_add_responder",
    "escalation_escalate",
    "escalation_expire_acknowledgements",
    "escalation_fire_due",
    "escalation_reassign",
    "escalation_renotify",
    "escalation_severity_raised",
    "escalation_start",
    "escalation_status_changed",
    "escalations_sweep",
    "layer_create",
    "layer_delete",
    "layer_update",
    "override_create",
    "override_delete",
    "schedule_create",
    "schedule_delete",
    "schedule_ical_rotate",
    "schedule_swap",
    "schedule_update",
]
