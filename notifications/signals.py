"""What the notifications app tells the apps above it.

Notifications sits below incidents and escalation and never calls them
(SPEC §2); they subscribe here instead. `delivery_finished` is sent after
commit, once per delivery that reached `sent` or `failed`, with
`delivery` (a `Delivery`, its `bundled` rows counted in `bundled`).
"""

from __future__ import annotations

from django.dispatch import Signal

delivery_finished = Signal()
