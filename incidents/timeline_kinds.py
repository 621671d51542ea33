"""The timeline event kinds the incident core writes."""

from incidents.timeline import timeline_kind

CREATED = timeline_kind("created", "Incident declared")
ACKNOWLEDGED = timeline_kind("acknowledged", "Acknowledged")
STATUS_CHANGED = timeline_kind("status_changed", "Status changed")
SEVERITY_CHANGED = timeline_kind("severity_changed", "Severity changed")
ROLE_ASSIGNED = timeline_kind("role_assigned", "Role assigned")
FIELDS_UPDATED = timeline_kind("fields_updated", "Details updated")
NOTE = timeline_kind("note", "Note")
ALERT_ATTACHED = timeline_kind("alert_attached", "Alert attached")
ALERT_RESOLVED = timeline_kind("alert_resolved", "Alert resolved")
ACK_TARGET_MISSED = timeline_kind("ack_target_missed", "Acknowledge target missed")
RESOLVE_TARGET_MISSED = timeline_kind("resolve_target_missed", "Resolve target missed")
VERIFICATION_TICKED = timeline_kind("verification_ticked", "Verification item ticked")
VERIFICATION_UNTICKED = timeline_kind(
    "verification_unticked", "Verification item unticked"
)
VERIFICATION_OVERRIDDEN = timeline_kind(
    "verification_overridden", "Verification overridden"
)
RESOLVE_HELD = timeline_kind("resolve_held", "Resolve held for verification")
CHECKLIST_TICKED = timeline_kind("checklist_ticked", "Checklist item ticked")
CHECKLIST_UNTICKED = timeline_kind("checklist_unticked", "Checklist item unticked")
RUNBOOK_ATTACHED = timeline_kind("runbook_attached", "Runbook attached")
RUNBOOK_STEP_DONE = timeline_kind("runbook_step_done", "Runbook step done")
RUNBOOK_STEP_REOPENED = timeline_kind("runbook_step_reopened", "Runbook step reopened")
RUNBOOK_STEP_SKIPPED = timeline_kind("runbook_step_skipped", "Runbook step skipped")
RUNBOOK_STEP_NOTE = timeline_kind("runbook_step_note", "Runbook step note")
