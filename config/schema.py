"""The OpenAPI schema says what the API answers, refusals included.

Clients are generated from it and CI fuzzes the live API against it, so a
field it calls a string must never come back null, and every status code an
operation can answer must be in it.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

# What DRF writes for a timedelta: "[-D ]HH:MM:SS[.uuuuuu]".
DURATION_OUT = r"^(-?\d+ )?\d{2}:\d{2}:\d{2}(\.\d{6})?$"
# What it reads in that form: "[D ][[H]H:][[M]M:]S[.u]" ("15:00" is 15 minutes).
DURATION_IN = r"^(-?\d+ )?(\d{1,2}:){0,2}\d{1,2}(\.\d{1,6})?$"

ERROR = {"$ref": "#/components/schemas/Error"}
REFUSALS = {
    "400": {
        "description": "A query parameter or the body is not valid; the body "
        "maps each parameter or field to its messages.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": {}}
            }
        },
    },
    "401": {
        "description": "No or invalid credentials.",
        "content": {"application/json": {"schema": ERROR}},
    },
    "403": {
        "description": "Not allowed for this user.",
        "content": {"application/json": {"schema": ERROR}},
    },
    "404": {
        "description": "No such object among the caller's teams' objects, or a "
        "path parameter that names none.",
        "content": {"application/json": {"schema": ERROR}},
    },
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with durations typed as DRF writes them."""

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = dict(
            super()._map_serializer_field(field, direction, bypass_extensions)
        )
        if isinstance(field, serializers.DurationField):
            schema["pattern"] = DURATION_OUT if direction == "response" else DURATION_IN
            schema["example"] = "00:15:00"
        return schema


class PagedAutoSchema(AutoSchema):
    """For a view that pages an answer of its own shape (declared whole, not
    as a list): its paginator's query parameters, which drf-spectacular adds
    only to list views."""

    def _get_pagination_parameters(self) -> list[dict[str, Any]]:
        paginator = self._get_paginator()
        if paginator is None:
            return []
        return list(paginator.get_schema_operation_parameters(self.view))


def document_refusals(
    result: dict[str, Any], generator: Any, **kwargs: Any
) -> dict[str, Any]:
    """Add the 400 of an operation that takes input, the 404 of one that
    names an object in its path and the 401 and 403 of one that needs
    credentials, where its view did not declare them."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            places = {parameter["in"] for parameter in operation.get("parameters", [])}
            responses = operation["responses"]
            if "query" in places or "requestBody" in operation:
                responses.setdefault("400", REFUSALS["400"])
            if "path" in places:
                responses.setdefault("404", REFUSALS["404"])
            if operation.get("security") and {} not in operation["security"]:
                responses.setdefault("401", REFUSALS["401"])
                responses.setdefault("403", REFUSALS["403"])
    return result


def link_created_objects(
    result: dict[str, Any], generator: Any, **kwargs: Any
) -> dict[str, Any]:
    """Add OpenAPI links from each create operation (a POST answering 201) to
    the operations on what it created: `POST /incidents/` names the incident
    that `/incidents/{public_id}/acknowledge/` takes."""
    paths = result.get("paths", {})
    schemas = result.get("components", {}).get("schemas", {})
    for collection, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if not created:
            continue
        body = created.get("content", {}).get("application/json", {}).get("schema")
        fields = (
            schemas.get(body.get("$ref", "").rsplit("/", 1)[-1], {}) if body else {}
        )
        links = {}
        for path, other in paths.items():
            found = re.match(r"\{(\w+)\}/", path.removeprefix(collection))
            if path == collection or not path.startswith(collection) or not found:
                continue
            name = found.group(1)
            field = name if name in fields.get("properties", {}) else "id"
            parameters = {name: f"$response.body#/{field}"}
            for outer in re.findall(r"\{(\w+)\}", collection):
                parameters[outer] = f"$request.path.{outer}"
            for operation in other.values():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                }
        if links:
            created["links"] = links
    return result
