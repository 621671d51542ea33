"""Migration operations shared by every app."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import (
    AddIndexConcurrently,
    RemoveIndexConcurrently,
)
from django.db.migrations import AddIndex, RemoveIndex
from django.db.migrations.operations.base import Operation


class _WithoutBlocking(Operation):
    """On PostgreSQL, the `concurrent` operation (in a migration that is not
    atomic); on other databases, the `plain` one."""

    plain: type[Operation]
    concurrent: type[Operation]

    def _operation(self, schema_editor: Any) -> type[Operation]:
        if schema_editor.connection.vendor == "postgresql":
            return self.concurrent
        return self.plain

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._operation(schema_editor).database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._operation(schema_editor).database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class AddIndexWithoutBlocking(_WithoutBlocking, AddIndexConcurrently):
    """Add an index without blocking writes to its table while it builds
    (PostgreSQL's CREATE INDEX CONCURRENTLY); other databases build it as
    AddIndex does. An index on the incidents of a long history takes
    minutes to build, and ingest must not wait for it."""

    plain = AddIndex
    concurrent = AddIndexConcurrently


class RemoveIndexWithoutBlocking(_WithoutBlocking, RemoveIndexConcurrently):
    """Drop an index without blocking the table's reads and writes while it
    waits for them (PostgreSQL's DROP INDEX CONCURRENTLY)."""

    plain = RemoveIndex
    concurrent = RemoveIndexConcurrently
