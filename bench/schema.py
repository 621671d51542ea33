"""The baseline's table: created by the benchmark, written by the baseline view."""

from __future__ import annotations

TABLE = "bench_baseline"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "id bigserial PRIMARY KEY, body jsonb NOT NULL, received_at timestamptz NOT NULL)"
)
INSERT = f"INSERT INTO {TABLE} (body, received_at) VALUES (%s::jsonb, now())"  # noqa: S608
