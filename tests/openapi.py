"""Check an API answer against the OpenAPI schema drf-spectacular serves."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from drf_spectacular.generators import SchemaGenerator


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `"null"` type."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@cache
def _schema() -> dict[str, Any]:
    """The schema, generated once per run: the code it describes does not change."""
    return dict(SchemaGenerator().get_schema(request=None, public=True))


def assert_described(path: str, method: str, status: int, body: Any) -> None:
    """Fail unless `body` is what the schema says `method path` answers
    with `status` (path as in the schema: `/api/v1/incidents/{public_id}/…`)."""
    schema = _schema()
    response = schema["paths"][path][method]["responses"][str(status)]
    described = response["content"]["application/json"]["schema"]
    document = {**described, "components": schema["components"]}
    jsonschema.validate(body, _as_json_schema(document))
