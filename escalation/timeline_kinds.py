"""The timeline event kinds escalation writes on an incident's timeline."""

from incidents.timeline import timeline_kind

ESCALATED = timeline_kind("escalated", "Escalated")
ESCALATION_SKIPPED = timeline_kind("escalation_skipped", "Escalation level skipped")
ESCALATION_STOPPED = timeline_kind("escalation_stopped", "Escalation stopped")
ESCALATION_RESTARTED = timeline_kind("escalation_restarted", "Escalation restarted")
REASSIGNED = timeline_kind("reassigned", "Reassigned")
RESPONDER_ADDED = timeline_kind("responder_added", "Responder added")
