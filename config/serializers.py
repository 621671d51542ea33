"""Serializer pieces every app's API uses: strict input, error bodies,
users in summary, fields scoped by a selector, enum schemas."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import serializers


class RefuseUnknownFields:
    """Input that names an unknown field is refused, not silently ignored."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: ["Unknown field; it cannot be set here."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """An input-only serializer that refuses unknown fields."""


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx answer that is not a field validation error."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class UserSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return str(user.get_full_name() or user.get_username())


class VisibleIdField(serializers.PrimaryKeyRelatedField[Any]):
    """An object of `model` given by id, among those `among` returns for the
    caller: anyone else's is "does not exist", as an id nobody has."""

    def __init__(self, model: type[Model], among: Any, **kwargs: Any) -> None:
        self.among = among
        super().__init__(queryset=model._default_manager.all(), **kwargs)

    def get_queryset(self) -> Any:
        return self.among(user=self.context["request"].user)


def enum_schema(choices: list[tuple[str, str]], blank: bool = False) -> dict[str, Any]:
    """Return the OpenAPI schema of a string field with these choices (and
    "" when `blank`), for a field that names its own enum component."""
    return {
        "type": "string",
        "enum": [*(value for value, _ in choices), *([""] if blank else [])],
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }
