"""What the incidents app tells the apps above it.

`status_update_posted` is sent once per status update, after the
transaction that posted it commits, with `update_id` (a `StatusUpdate`
primary key; the sender is the `StatusUpdate` class). The update's
internal messages (channels, internal subscribers) are written already;
a receiver delivers what else it owns, such as a public update to public
subscribers, and must look at `audience` and the incident's `is_drill`
itself.
"""

from __future__ import annotations

from django.dispatch import Signal

status_update_posted = Signal()
