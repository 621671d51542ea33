"""Migration operations shared by every app."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations import AddIndex


def _builder(schema_editor: Any) -> type[AddIndex]:
    if schema_editor.connection.vendor == "postgresql":
        return AddIndexConcurrently
    return AddIndex


class AddIndexWithoutBlocking(AddIndexConcurrently):
    """Add an index without blocking writes to its table while it builds
    (PostgreSQL's CREATE INDEX CONCURRENTLY, in a migration that is not
    atomic); other databases build it as AddIndex does. An index on the
    incidents of a long history takes minutes to build, and ingest must
    not wait for it."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        _builder(schema_editor).database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        _builder(schema_editor).database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )
