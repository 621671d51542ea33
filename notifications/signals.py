"""What the notifications app tells the apps above it.

Notifications sits below escalation and never calls it; an app that must
react to a delivery subscribes here instead (notifications' own receivers
put finished deliveries on the incident's timeline). `deliveries_finished` is sent once
per batch of deliveries that reached `sent` or `failed`, with `deliveries`
(a list of `Delivery`, incident, user and channel loaded) and `bundled`
(delivery id → how many rows were bundled into it). It is sent inside the
transaction that marks those rows as told, so that a receiver's writes and
the mark commit together; receivers do their outside work (a live event)
after commit. Each finished delivery is in exactly one such signal: a batch
cut short by a dead worker is told by the recovery sweep instead.
"""

from __future__ import annotations

from django.dispatch import Signal

deliveries_finished = Signal()
