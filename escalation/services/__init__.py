"""Every state change of the escalation app goes through these services."""

from escalation.services.ack_expiry import escalation_expire_acknowledgements
from escalation.services.cadence import (
    update_reminder_fire,
    update_reminders_sweep,
)
from escalation.services.controls import (
    escalation_add_responder,
    escalation_escalate,
    escalation_reassign,
    escalation_renotify,
    escalation_severity_raised,
)
from escalation.services.drill_schedules import (
    drill_schedule_create,
    drill_schedule_delete,
    drill_schedule_update,
    drill_slot_fire,
)
from escalation.services.drills import (
    drill_cancel,
    drill_check,
    drill_scenario_create,
    drill_scenario_save,
    drill_scenario_update,
    drill_start,
    drills_sweep,
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
    "drill_cancel",
    "drill_check",
    "drill_scenario_create",
    "drill_scenario_save",
    "drill_scenario_update",
    "drill_schedule_create",
    "drill_schedule_delete",
    "drill_schedule_update",
    "drill_slot_fire",
    "drill_start",
    "drills_sweep",
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
    "update_reminder_fire",
    "update_reminders_sweep",
]
