"""What the incident core tells the apps above it.

`status_update_posted` is sent once a status update is committed, with
`update_id` (a `StatusUpdate` id). Receivers re-read the update: the signal
says only that it exists. The public status page and its subscribers hear
it here.
"""

from __future__ import annotations

from django.dispatch import Signal

status_update_posted = Signal()
