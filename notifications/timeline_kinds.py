"""The timeline event kinds notifications writes on an incident's timeline."""

from incidents.timeline import timeline_kind

NOTIFICATION_SENT = timeline_kind("notification_sent", "Notification sent")
NOTIFICATION_FAILED = timeline_kind("notification_failed", "Notification failed")
