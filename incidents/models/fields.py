"""Model fields of the incident core."""

from __future__ import annotations

from typing import Any

from django.db import models

from config.strict_json import DEPTH_CEILING, nesting_depth


class UnreadableJSON(str):
    """A stored JSON text too deeply nested to decode safely, kept as text."""


class PayloadField(models.JSONField):
    """A JSONField whose every row can be read.

    Python decodes JSON recursively, so a row nested deeper than the
    interpreter's stack allows (stored before the request path refused such
    bodies, or written behind Vigil's back) would raise RecursionError in
    whatever lists it: the admin, the API, the worker. Such a row reads as
    its text instead, an UnreadableJSON, which the worker quarantines and
    the admin and API show as it is.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if (
            isinstance(value, str)
            and nesting_depth(value, above=DEPTH_CEILING) > DEPTH_CEILING
        ):
            return UnreadableJSON(value)
        return super().from_db_value(value, expression, connection)
