"""Every row of a query read whole (config/rows): in PostgreSQL's binary
format, a chunk at a time, with settings for that query's transaction."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL

from config import rows
from config.rows import every_row
from incidents.models import Team
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's binary format"
)


def test_every_row_comes_back_in_order_across_chunks(monkeypatch):
    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    for n in range(5):
        TeamFactory(slug=f"team-{n}")
    query = Team.objects.order_by("slug").values_list("slug", "id")

    got = list(every_row(query))

    assert got == list(query)
    assert [slug for slug, _ in got] == [f"team-{n}" for n in range(5)]


@on_postgresql
def test_bytes_dates_and_numbers_come_as_python_values():
    TeamFactory()
    query = Team.objects.annotate(
        packed=RawSQL("'\\x00ff'::bytea", []),
        day=RawSQL("DATE '2026-12-07'", []),
        seconds=RawSQL("1.5::float8", []),
    ).values_list("packed", "day", "seconds")

    ((packed, day, seconds),) = list(every_row(query))

    assert packed == b"\x00\xff"
    assert day.isoformat() == "2026-12-07"
    assert seconds == 1.5


@on_postgresql
def test_the_settings_hold_for_the_query_and_not_for_the_next_one():
    TeamFactory()
    setting = Team.objects.annotate(
        memory=RawSQL("current_setting('work_mem')", [])
    ).values_list("memory")

    ((inside,),) = list(every_row(setting, settings={"work_mem": "32MB"}))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem')")
        (after,) = cursor.fetchone()

    assert inside == "32MB"
    assert after != "32MB"
