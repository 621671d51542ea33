"""The real settings, with the embedded state of test runs kept apart.

Tests that commit enqueue real messages; under `var/test/` they can never
reach the worker of a `make run` started from the same checkout.
"""

import os
from pathlib import Path

os.environ.setdefault(
    "VIGIL_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test")
)

from config.settings import *  # noqa: F403
from config.settings import STORAGES

# Pages render without `collectstatic` having run (a fresh clone).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
