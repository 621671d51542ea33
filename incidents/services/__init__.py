"""Every state change of the incident core goes through these services."""

from incidents.services.alert_events import (
    alert_event_record,
    alert_event_record_for_key,
)
from incidents.services.alerts import alert_events_process
from incidents.services.drills import (
    alert_body_errors,
    alert_body_fields,
    drill_alert_record,
    drill_integration_get,
)
from incidents.services.incident import (
    incident_acknowledge,
    incident_add_note,
    incident_assign_role,
    incident_change_severity,
    incident_create,
    incident_transition,
    incident_update,
)
from incidents.services.ingest import (
    change_event_record,
    heartbeat_check_missed,
    heartbeat_ping,
    integration_rotate_key,
    maintenance_window_create,
    maintenance_windows_close,
    user_report_create,
)
from incidents.services.quarantine import alert_event_fail, alert_event_redrive
from incidents.services.quotas import (
    alert_event_record_for_key_within_quota,
    alert_event_record_within_quota,
    ingest_quota_applies,
)
from incidents.services.setup import (
    integration_create,
    integration_update,
    service_create,
    severity_level_update,
    team_add_member,
    team_create,
    team_member_check_removable,
    team_remove_member,
)
from incidents.services.targets import (
    incident_record_missed_targets,
)

__all__ = [
    "alert_body_errors",
    "alert_body_fields",
    "alert_event_fail",
    "alert_event_record",
    "alert_event_record_for_key",
    "alert_event_record_for_key_within_quota",
    "alert_event_record_within_quota",
    "alert_event_redrive",
    "alert_events_process",
    "change_event_record",
    "drill_alert_record",
    "drill_integration_get",
    "heartbeat_check_missed",
    "heartbeat_ping",
    "incident_acknowledge",
    "incident_add_note",
    "incident_assign_role",
    "incident_change_severity",
    "incident_create",
    "incident_record_missed_targets",
    "incident_transition",
    "incident_update",
    "ingest_quota_applies",
    "integration_create",
    "integration_rotate_key",
    "integration_update",
    "maintenance_window_create",
    "maintenance_windows_close",
    "service_create",
    "severity_level_update",
    "team_add_member",
    "team_create",
    "team_member_check_removable",
    "team_remove_member",
    "user_report_create",
]
