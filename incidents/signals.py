"""What the incident core tells the apps above it.

The incident core calls no other app: notifications and escalation connect
receivers to these signals in their AppConfig.ready() (notifications first,
as INSTALLED_APPS lists it). Each is sent inside the transaction of the
change, after its timeline entry is written, so a receiver's writes commit
or roll back with it, and an exception in a receiver undoes the change.

- `incident_declared(incident, event)`: a new incident; `event` is its
  "declared" timeline entry.
- `incident_status_changed(incident, event, before, by, reason)`: the status
  moved from `before`; `event` is the timeline entry of the move.
- `incident_severity_raised(incident)`: the severity became more severe.
- `alert_attached(incident, alert)`: a further alert on an open incident
  that may re-page (not a flood's, not the declaring one).
- `team_member_leaving(team, user)`: a member is about to be removed from a
  team; a receiver raises IncidentError to refuse (still on call there).
- `status_update_posted(update_id)`: a status update (sender `StatusUpdate`)
  was posted; sent once, after its transaction commits, with the update's
  id only: receivers re-read it.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_declared = Signal()
incident_status_changed = Signal()
incident_severity_raised = Signal()
alert_attached = Signal()
team_member_leaving = Signal()
status_update_posted = Signal()
