"""Database helpers shared by every app."""

from __future__ import annotations

from django.db import connection


def own_rows() -> tuple[str, ...]:
    """Return `of` for select_for_update() that locks the queried rows only.

    With joins (select_related) and no OF, PostgreSQL locks the joined rows
    too: the severity row every incident of that severity shares, say, which
    would make unrelated incidents wait for each other. SQLite has no row
    locks (it takes the database's write lock) and no OF.
    """
    return ("self",) if connection.features.has_select_for_update_of else ()
