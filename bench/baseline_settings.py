"""Vigil's settings, with the baseline view routed and its no-op task known."""

from __future__ import annotations

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline_urls"
# The worker imports the baseline's no-op task, so its messages are consumed
# like Vigil's instead of being rejected as unregistered.
CELERY_IMPORTS = ["bench.baseline"]
