"""The status-update cadence counted in closed form agrees with its listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.cadence import update_counts, update_slots

START = datetime(2026, 1, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=2_000).map(lambda m: timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(
    cadence=st.integers(min_value=1, max_value=120).map(lambda m: timedelta(minutes=m)),
    posted=st.lists(minutes, max_size=12),
    open_for=minutes,
)
def test_counting_the_due_updates_agrees_with_listing_them(cadence, posted, open_for):
    times = sorted(START + offset for offset in posted)
    case = {
        "detected_at": START,
        "end": START + open_for,
        "posted": times,
        "cadence": cadence,
    }

    slots = update_slots(**case)

    assert update_counts(**case) == (len(slots), sum(s.missed for s in slots))


def test_an_incident_open_for_years_is_counted_without_listing_each_update():
    years = {"detected_at": START, "posted": [], "cadence": timedelta(minutes=30)}
    end = START + timedelta(days=3 * 365)

    due, missed = update_counts(end=end, **years)

    assert due == missed == 3 * 365 * 48 - 1
