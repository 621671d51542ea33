"""Shared helpers of the ingestion tests: the senders' own bodies, posted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def post_json(path: str, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client().post(path, raw, content_type="application/json", **headers)
