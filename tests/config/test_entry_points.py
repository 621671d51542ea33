"""The web entry points, as gunicorn and uvicorn load them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.embedded import ROOT


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_what_an_entry_point_loads_is_kept_out_of_full_collections(module, tmp_path):
    # A process of its own: freezing is for the whole process.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import gc, {module}; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VIGIL_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    # Django, the apps and their dependencies: about a hundred thousand.
    assert int(done.stdout.split()[-1]) > 50_000
