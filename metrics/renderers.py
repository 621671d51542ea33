"""The metrics answers' formats: JSON by orjson, and with `?format=csv` the
rows as a CSV file."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.renderers import BaseRenderer


class JsonRenderer(ORJSONRenderer):
    """JSON written by orjson: a year by day is hundreds of rows of two
    dozen figures, which the standard encoder takes over 15 ms to write a
    thousand of and orjson one. A key that is not a string (an error's
    list index) is written as one, as the standard encoder does."""

    options = ORJSONRenderer.options | orjson.OPT_NON_STR_KEYS


class CsvRenderer(BaseRenderer):
    """Render the answer's `results` rows (or an error body) as CSV: one
    header line of the rows' keys (the view's row fields when there is no
    row), then one line per row."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, dict) and "results" in data:
            rows = list(data["results"])
        else:  # an error: its fields, one line
            rows = [data] if isinstance(data, dict) else []
        view = (renderer_context or {}).get("view")
        if rows:
            fields = list(rows[0])
        elif view is not None and hasattr(view, "row_serializer"):
            fields = list(view.row_serializer().fields)  # the header alone
        else:
            fields = ["detail"]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(value) for key, value in row.items()})
        return out.getvalue().encode(self.charset)


def _cell(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value
