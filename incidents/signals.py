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
- `status_update_posted(incident, update, event, message_kind)`: a status
  update was posted (by hand, on declaration, or by a transition that
  announces itself); `update` is the `StatusUpdate`, `event` its timeline
  entry, `message_kind` the template it is told with (initial, update or
  resolution). Its messages are written by the receivers, so they commit
  with the update or not at all.
- `incident_severity_raised(incident)`: the severity became more severe.
- `alert_attached(incident, alert)`: a further alert on an open incident
  that may re-page (not a flood's, not the declaring one).
- `team_member_leaving(team, user)`: a member is about to be removed from a
  team; a receiver raises IncidentError to refuse (still on call there).
- `person_notice(user, event_key, subject, text, incident, calendar, now)`:
  e-mail one person a notice about follow-up work (a review's reminder or
  meeting invitation, an action-item digest), once per `event_key`; a
  receiver returns whether it could reach them (`calendar`, if not empty, is
  an iCalendar invitation to attach).
- `person_email_wanted(user)`: a receiver returns the address notices to
  `user` go to ("" if none), for an invitation's attendee list.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_declared = Signal()
incident_status_changed = Signal()
status_update_posted = Signal()
incident_severity_raised = Signal()
alert_attached = Signal()
team_member_leaving = Signal()
person_notice = Signal()
person_email_wanted = Signal()
