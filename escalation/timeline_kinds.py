"""The timeline event kinds escalation writes on an incident's timeline."""

from incidents.timeline import timeline_kind

ESCALATED = timeline_kind("escalated", "Escalated", "☎")
ESCALATION_SKIPPED = timeline_kind(
    "escalation_skipped", "Escalation level skipped", "⤼"
)
ESCALATION_STOPPED = timeline_kind("escalation_stopped", "Escalation stopped", "■")
ESCALATION_RESTARTED = timeline_kind(
    "escalation_restarted", "Escalation restarted", "↻"
)
ESCALATION_CONTINUED = timeline_kind(
    "escalation_continued", "Escalation continues (drill)", "☎"
)
REASSIGNED = timeline_kind("reassigned", "Reassigned")
RESPONDER_ADDED = timeline_kind("responder_added", "Responder added")
# --- Communication: reminders of a status update due or overdue ---
UPDATE_REMINDER_SENT = timeline_kind("update_reminder_sent", "Status update reminder")
UPDATE_OVERDUE_PAGED = timeline_kind(
    "update_overdue_paged", "Status update overdue: paged"
)
# --- Drills ---
DRILL_STARTED = timeline_kind("drill_started", "Drill started")
