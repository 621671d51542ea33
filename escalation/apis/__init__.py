"""REST endpoints of the escalation app: policies, the preview, manual controls,
on-call schedules and their calendar feeds."""
