"""`make run` left running under a steady trickle of alerts.

The embedded stack (the real `manage.py runstack`: SQLite, the filesystem
broker, web, worker and beat) gets a PagerDuty trigger every 2 s, and a
resolve for every fourth alert, for VIGIL_SOAK_SECONDS: 30 s by default, for
a local `make test`; CI sets 120 for its embedded run. It must end with every
event processed into its alert and incident, nothing pending, no program
restarted and no error in the log. The 30-minute soak is `python -m
bench.soak --minutes 30` (bench/README.md).
"""

from __future__ import annotations

import os

from bench.soak import soak
from tests.config.test_runstack import embedded_only

SECONDS = float(os.environ.get("VIGIL_SOAK_SECONDS") or 30)


@embedded_only
def test_make_run_under_alerts_processes_every_one_and_restarts_nothing(tmp_path):
    result = soak(tmp_path, seconds=SECONDS, every=2.0)

    assert result["alerts_sent"] >= SECONDS // 2
    assert result["alerts_accepted"] == result["alerts_sent"]
    assert result["events_pending"] == 0
    assert result["events_processed"] == result["alerts_sent"]
    assert result["restarts"] == []
    assert result["errors_in_logs"] == []
    assert result["exit_code"] == 0
    assert result["ok"], result
