"""The rollups answer what the incidents do: the same counts and means, and
percentiles within the shaped cells' histograms' 5 %, and
the same SLA view, over random incidents, status updates and edits, late
edits to old incidents included, before and after the refresh."""

from __future__ import annotations

import math
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.metrics_selectors import (
    metric_duration_rows,
    metric_incidents,
    severity_targets,
)
from incidents.metrics_sla import BreachRows, sla_counts
from incidents.models import Incident, SeverityLevel, StatusUpdate
from metrics import figures, kpis, rollup_reads
from metrics.cadence import cadence_tally
from metrics.definitions import DURATIONS, MEASURES
from metrics.models import (
    RollupBucket,
    RollupCell,
    RollupDirty,
    RollupShapeCell,
    RollupState,
)
from metrics.selectors import (
    kpi_report,
    response_time_report,
    sla_breaches,
    sla_report,
)
from metrics.services import rollups_refresh
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory, UserFactory

# Not on a whole hour, so that unresolved incidents fall on either side of
# now within their cadence.
NOW = datetime.fromisoformat("2026-03-30T12:07:30+00:00")
CATEGORIES = ("database", "security", "other")
NO_FILTERS = {
    "drills": False,
    "since": None,
    "until": None,
    "severities": [],
    "services": [],
    "teams": [],
    "categories": [],
}
# How close a percentile from the shaped cells' histograms is.
SHAPED = 0.05
# The first incident is this long ago, so the rollups cover whole months.
FIRST = timedelta(days=70)
QUERIES = (
    ("severity", "month", {}),
    ("team", "month", {"severities": ["P1", "P2"]}),
    ("period", "month", {}),
    ("period", "quarter", {"until": NOW - timedelta(days=3, hours=7)}),
    ("category", "month", {"since": NOW - timedelta(days=9, hours=5)}),
    ("period", "day", {"until": NOW - timedelta(days=3, hours=7)}),
    ("period", "week", {"categories": ["database"]}),
    ("period", "week", {"since": NOW - timedelta(days=30, hours=2)}),
    ("service", "month", {}),
    ("category", "month", {}),
    ("period", "month", {"categories": ["database", "other"]}),
    ("category", "month", {"services": ["rolled-0"]}),
    ("severity", "week", {"services": ["rolled-1"], "categories": ["security"]}),
    # Kept by service and category: month and day cells of both.
    ("period", "week", {"services": ["rolled-0"], "categories": ["other"]}),
)

durations = st.one_of(st.none(), st.integers(0, 3 * 86400).map(float))
incident_specs = st.fixed_dictionaries(
    {
        "minutes_ago": st.integers(0, FIRST.days * 24 * 60),
        "severity": st.sampled_from(("P0", "P1", "P2", "P3")),
        "service": st.integers(0, 1),
        "category": st.sampled_from(CATEGORIES),
        "is_drill": st.booleans(),
        "cancelled": st.integers(0, 9).map(lambda n: n == 0),
        "restricted": st.integers(0, 9).map(lambda n: n == 0),
        "started_before": st.integers(0, 3600).map(float),
        "ack": durations,
        "resolve": durations,
        "updates": st.lists(st.integers(0, 3 * 86400), max_size=3),
    }
)
edit_specs = st.fixed_dictionaries(
    {
        "which": st.integers(0, 100),
        "severity": st.sampled_from(("P0", "P1", "P2", "P3")),
        "category": st.sampled_from(CATEGORIES),
        "ack": durations,
        "resolve": durations,
        "cancelled": st.booleans(),
        "update": st.one_of(st.none(), st.integers(0, 3 * 86400)),
    }
)


@contextmanager
def rolled_back():
    """Run one example in a transaction undone at its end."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def timestamps(detected: datetime, ack: float | None, resolve: float | None) -> dict:
    return {
        "acknowledged_at": None if ack is None else detected + timedelta(seconds=ack),
        "resolved_at": None
        if resolve is None
        else detected + timedelta(seconds=resolve),
        "mitigated_at": None
        if resolve is None
        else detected + timedelta(seconds=resolve / 2),
    }


def post_update(incident: Incident, after: float) -> None:
    """An update posted `after` seconds after detection (by now at the latest)."""
    StatusUpdate.objects.create(
        incident=incident,
        status=incident.status,
        text="Still on it",
        posted_at=min(NOW, incident.detected_at + timedelta(seconds=after)),
    )


def two_services() -> list:
    """The services the queries filter by, in teams of two time zones."""
    return [
        ServiceFactory(slug=f"rolled-{n}", team=TeamFactory(time_zone=zone))
        for n, zone in enumerate(("UTC", "America/Los_Angeles"))
    ]


def create(spec: dict, n: int, services: list) -> Incident:
    detected = NOW - timedelta(minutes=spec["minutes_ago"])
    incident = Incident.objects.create(
        public_id=f"R-{n}",
        title="Rolled up",
        severity=SeverityLevel.objects.get(code=spec["severity"]),
        service=services[spec["service"]],
        category=spec["category"],
        is_drill=spec["is_drill"],
        restricted=spec["restricted"],
        status="cancelled" if spec["cancelled"] else "investigating",
        started_at=detected - timedelta(seconds=spec["started_before"]),
        detected_at=detected,
        **timestamps(detected, spec["ack"], spec["resolve"]),
    )
    for after in spec["updates"]:
        post_update(incident, after)
    return incident


def edit(incident: Incident, spec: dict) -> None:
    incident.severity = SeverityLevel.objects.get(code=spec["severity"])
    incident.category = spec["category"]
    incident.status = "cancelled" if spec["cancelled"] else "investigating"
    for field, value in timestamps(
        incident.detected_at, spec["ack"], spec["resolve"]
    ).items():
        setattr(incident, field, value)
    incident.save()
    if spec["update"] is not None:
        post_update(incident, spec["update"])


def raw_sla(user, query: dict) -> list[dict]:
    """The SLA view counted over the incidents alone."""
    incidents = metric_incidents(user=user, **query)
    targets = severity_targets()
    rows = figures.sla(sla_counts(incidents, now=NOW), targets)
    tally = cadence_tally(
        unposted=incidents,
        posted=incidents,
        targets={target["code"]: target for target in targets},
        now=NOW,
    )
    for row in rows:
        row["updates_due"], row["updates_missed"] = tally.get(row["severity"], (0, 0))
        row["update_compliance"] = figures.rate(*tally.get(row["severity"], (0, 0)))
    return rows


def assert_same_as_the_incidents(user) -> None:
    for query in (
        NO_FILTERS,
        NO_FILTERS | {"categories": ["database"], "drills": True},
        NO_FILTERS | {"since": NOW - timedelta(days=40, hours=5)},
    ):
        assert sla_report(user=user, filters=dict(query), now=NOW) == raw_sla(
            user, query
        ), query
        breaches = sla_breaches(user=user, filters=dict(query), now=NOW)
        raw_breaches = BreachRows(
            metric_incidents(user=user, **query), now=NOW, shape=figures.breach
        )
        assert breaches.count() == raw_breaches.count() == len(list(raw_breaches))
        keys = ["status_update_cadence", "repeat_incidents"]
        raw_kpis = kpis.compute(
            kpis.Context(
                incidents=metric_incidents(user=user, **query),
                now=NOW,
                targets={target["code"]: target for target in severity_targets()},
            ),
            keys,
        )
        assert kpi_report(user=user, filters=dict(query), now=NOW, keys=keys) == (
            raw_kpis
        )
    for group_by, period, extra in QUERIES:
        filters = NO_FILTERS | extra
        for drills in (False, True):
            query = filters | {"drills": drills}
            rolled = response_time_report(
                user=user, filters=dict(query), group_by=group_by, period=period
            )
            raw = figures.response_times(
                metric_duration_rows(
                    metric_incidents(user=user, **query),
                    group_by=group_by,
                    durations=DURATIONS,
                ),
                group_by,
                period,
            )
            assert [row["group"] for row in rolled] == [row["group"] for row in raw]
            for got, want in zip(rolled, raw, strict=True):
                for name in ("incidents", "never_acknowledged", "unresolved"):
                    assert got[name] == want[name], (group_by, name)
                for measure in MEASURES:
                    key = measure.key
                    assert got[f"{key}_count"] == want[f"{key}_count"]
                    if want[f"{key}_count"] == 0:
                        continue
                    assert math.isclose(
                        got[f"{key}_mean"], want[f"{key}_mean"], rel_tol=1e-9
                    )
                    for stat in ("p50", "p90"):
                        exact = want[f"{key}_{stat}"]
                        assert abs(got[f"{key}_{stat}"] - exact) <= (
                            SHAPED * exact + 0.5
                        )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(incident_specs, min_size=1, max_size=14),
    edits=st.lists(edit_specs, max_size=5),
)
def test_rollups_answer_what_the_incidents_do(db, specs, edits):
    with rolled_back(), time_machine.travel(NOW, tick=False):
        user = UserFactory(username="rollups", is_superuser=True)
        services = two_services()
        first = specs[0] | {"minutes_ago": FIRST.days * 24 * 60}
        incidents = [
            create(spec, n, services) for n, spec in enumerate([first, *specs])
        ]
        rollups_refresh(now=NOW)
        assert_same_as_the_incidents(user)

        for spec in edits:  # late changes, old incidents included
            edit(incidents[spec["which"] % len(incidents)], spec)
        assert_same_as_the_incidents(user)  # dirty days are read raw
        rollups_refresh(now=NOW)
        covered_until = RollupState.objects.get().covered_until
        assert not RollupDirty.objects.filter(day__lt=covered_until).exists()
        assert_same_as_the_incidents(user)


PLAIN = {
    "severity": "P1",
    "service": 0,
    "category": "other",
    "is_drill": False,
    "cancelled": False,
    "restricted": False,
    "started_before": 0.0,
    "ack": 60.0,
    "resolve": None,
    "updates": [],
}


def create_each(services: list, *incidents: tuple[str, int, str, str]) -> None:
    """Create incidents given as (detected at, service's place, category,
    severity), plain otherwise."""
    for n, (at, service, category, severity) in enumerate(incidents):
        spec = detected(at) | {"category": category, "severity": severity}
        create(spec | {"service": service}, n, services)


def detected(at: str) -> dict:
    """A plain incident detected at `at` (UTC)."""
    ago = NOW - datetime.fromisoformat(f"{at}+00:00")
    return PLAIN | {"minutes_ago": int(ago.total_seconds() // 60)}


def forget_the_days() -> None:
    """Delete every cell of a day (day cells and shaped ones), leaving the
    month cells alone."""
    RollupCell.objects.all().delete()
    RollupBucket.objects.all().delete()
    RollupShapeCell.objects.filter(grain="day").delete()


def test_a_member_of_one_team_reads_only_that_teams_cells_and_a_superuser_every_teams(
    db,
):
    services = two_services()
    member = MembershipFactory(team=services[0].team, user__username="member").user
    everyone = UserFactory(username="everyone", is_superuser=True)
    with time_machine.travel(NOW, tick=False):
        for n, service in enumerate((0, 1, 1)):
            create(detected("2026-02-10T12:00") | {"service": service}, n, services)
        rollups_refresh(now=NOW)
        # The cells answer that day, not the incidents.
        assert (
            date(2026, 2, 10) in rollup_reads.rolled_days(since=None, until=None).days
        )
        counts = {
            user.username: {
                row["group"]: row["incidents"]
                for row in response_time_report(
                    user=user, filters=dict(NO_FILTERS), group_by="team", period="day"
                )
            }
            for user in (member, everyone)
        }

    first, second = (service.team.slug for service in services)
    assert counts == {"member": {first: 1}, "everyone": {first: 1, second: 2}}


def test_by_day_a_superuser_reads_the_cells_of_every_team_and_a_member_their_own(
    db, monkeypatch
):
    # By day, cells answer however few incidents a day holds.
    monkeypatch.setattr(rollup_reads, "DAY_GROUP_COST", 0)
    services = two_services()
    member = MembershipFactory(team=services[0].team, user__username="member").user
    everyone = UserFactory(username="everyone", is_superuser=True)

    def by_day(user) -> dict[str, int]:
        rows = response_time_report(
            user=user, filters=dict(NO_FILTERS), group_by="period", period="day"
        )
        return {row["group"]: row["incidents"] for row in rows}

    with time_machine.travel(NOW, tick=False):
        # 11 February, 03:00 UTC is still the 10th in Los Angeles
        for n, (service, severity) in enumerate(((0, "P1"), (1, "P2"), (1, "P3"))):
            spec = detected("2026-02-11T03:00") | {"severity": severity}
            create(spec | {"service": service}, n, services)
        rollups_refresh(now=NOW)
        of_member = by_day(member)
        # Only the day's cells of every team are left.
        RollupCell.objects.all().delete()
        RollupBucket.objects.all().delete()
        RollupShapeCell.objects.filter(grain="day", shape__lt=4).delete()
        of_everyone = by_day(everyone)

    assert of_member == {"2026-02-11": 1}
    assert of_everyone == {"2026-02-10": 2, "2026-02-11": 1}


def test_most_teams_are_read_as_every_team_less_the_others(db, monkeypatch):
    # By day, cells answer however few incidents a day holds.
    monkeypatch.setattr(rollup_reads, "DAY_GROUP_COST", 0)
    user = UserFactory(username="most-teams", is_superuser=True)
    services = [
        ServiceFactory(slug=f"most-{n}", team=TeamFactory(time_zone=zone))
        for n, zone in enumerate(("UTC", "America/Los_Angeles", "Asia/Tokyo"))
    ]
    asked = NO_FILTERS | {"teams": [s.team.slug for s in services[:2]]}
    with time_machine.travel(NOW, tick=False):
        for n, (at, service, severity) in enumerate(
            (
                ("2026-02-10T12:00", 0, "P1"),
                ("2026-02-10T12:00", 1, "P1"),
                ("2026-02-10T12:00", 1, "P2"),
                ("2026-02-10T12:00", 2, "P1"),
                ("2026-02-10T12:00", 2, "P2"),
                ("2026-02-11T12:00", 2, "P1"),  # the asked teams have none
            )
        ):
            create(
                detected(at) | {"severity": severity, "service": service}, n, services
            )
        rollups_refresh(now=NOW)
        # Only every team's cells and the third team's are left.
        RollupShapeCell.objects.filter(shape__lt=4).exclude(
            team_id=services[2].team_id
        ).delete()
        by_day = response_time_report(
            user=user, filters=dict(asked), group_by="period", period="day"
        )
        by_severity = sla_report(user=user, filters=dict(asked), now=NOW)

    assert {row["group"]: row["incidents"] for row in by_day} == {"2026-02-10": 3}
    assert {row["severity"]: row["incidents"] for row in by_severity} == {
        "P0": 0,
        "P1": 2,
        "P2": 1,
        "P3": 0,
    }
    assert [row["time_to_acknowledge_count"] for row in by_day] == [3]


def test_months_are_read_from_month_cells_in_the_teams_local_months(db):
    user = UserFactory(username="months", is_superuser=True)
    service = ServiceFactory(team=TeamFactory(time_zone="America/Los_Angeles"))
    with time_machine.travel(NOW, tick=False):
        for n, at in enumerate(
            ("2026-01-20T12:00", "2026-02-01T03:00", "2026-02-15T12:00")
        ):  # 1 February, 03:00 UTC is still 31 January in Los Angeles
            create(detected(at), n, [service])
        rollups_refresh(now=NOW)
        # Only the month cells hold them now, also those of January, whose
        # cells begin on the 20th with the history.
        forget_the_days()
        rows = response_time_report(
            user=user,
            filters=dict(NO_FILTERS),
            group_by="period",
            period="month",
        )

    assert {row["group"]: row["incidents"] for row in rows} == {
        "2026-01": 2,
        "2026-02": 1,
    }


@pytest.mark.parametrize(
    ("period", "times", "groups"),
    [
        # Monday 9 February, 03:00 UTC is still Sunday in Los Angeles
        (
            "week",
            ("2026-02-09T03:00", "2026-02-11T12:00"),
            {"2026-W06": 1, "2026-W07": 1},
        ),
        # 11 February, 03:00 UTC is still the 10th in Los Angeles
        ("day", ("2026-02-10T12:00", "2026-02-11T03:00"), {"2026-02-10": 2}),
    ],
)
def test_weeks_and_days_are_read_from_their_cells_in_the_teams_local_time(
    db, monkeypatch, period, times, groups
):
    # By day, cells answer however few incidents a day holds.
    monkeypatch.setattr(rollup_reads, "DAY_GROUP_COST", 0)
    user = UserFactory(username="local", is_superuser=True)
    service = ServiceFactory(team=TeamFactory(time_zone="America/Los_Angeles"))
    with time_machine.travel(NOW, tick=False):
        for n, at in enumerate(times):
            create(detected(at), n, [service])
        rollups_refresh(now=NOW)
        if period == "week":
            forget_the_days()  # only the week cells hold them
        # Unmarked, so the cells still hold what was: read from the incidents,
        # they would all be on the 20th.
        Incident.objects.update(detected_at=datetime.fromisoformat("2026-02-20T20:00Z"))
        rows = response_time_report(
            user=user, filters=dict(NO_FILTERS), group_by="period", period=period
        )

    assert {row["group"]: row["incidents"] for row in rows} == groups


@pytest.mark.parametrize(
    ("group_by", "extra", "groups"),
    [
        ("service", {}, {"rolled-0": 2, "rolled-1": 1}),
        ("category", {}, {"database": 2, "other": 1}),
        ("severity", {"categories": ["database"]}, {"P1": 1, "P2": 1}),
        ("category", {"services": ["rolled-0"]}, {"database": 1, "other": 1}),
    ],
)
def test_a_service_or_category_over_whole_months_is_read_from_month_cells_of_its_shape(
    db, group_by, extra, groups
):
    user = UserFactory(username="shapes", is_superuser=True)
    services = two_services()
    with time_machine.travel(NOW, tick=False):
        create_each(
            services,
            ("2026-01-20T12:00", 0, "database", "P1"),
            ("2026-02-03T12:00", 0, "other", "P1"),
            ("2026-02-15T12:00", 1, "database", "P2"),
        )
        rollups_refresh(now=NOW)
        forget_the_days()
        rows = response_time_report(
            user=user,
            filters=NO_FILTERS | extra,
            group_by=group_by,
            period="month",
        )

    assert {row["group"]: row["incidents"] for row in rows} == groups
    assert all(row["time_to_acknowledge_count"] == row["incidents"] for row in rows)


def test_a_category_over_whole_weeks_outside_whole_months_is_read_from_week_cells(db):
    user = UserFactory(username="weeks-by-category", is_superuser=True)
    services = two_services()
    with time_machine.travel(NOW, tick=False):
        for n, (at, category) in enumerate(
            (("2026-03-10T12:00", "database"), ("2026-03-12T12:00", "other"))
        ):
            create(detected(at) | {"category": category}, n, services)
        rollups_refresh(now=NOW)
        forget_the_days()
        # Unmarked, so the cells still hold what was: read from the incidents,
        # both would be security incidents.
        Incident.objects.update(category="security")
        rows = response_time_report(
            user=user,
            filters=NO_FILTERS
            | {  # the ISO week of Monday 9 March, in no whole month
                "since": datetime.fromisoformat("2026-03-09T00:00+00:00"),
                "until": datetime.fromisoformat("2026-03-16T00:00+00:00"),
            },
            group_by="category",
            period="month",
        )

    assert {row["group"]: row["incidents"] for row in rows} == {
        "database": 1,
        "other": 1,
    }


def test_a_late_change_to_an_old_incident_marks_its_days_and_the_refresh_rebuilds_them(
    db,
):
    service = ServiceFactory()
    with time_machine.travel(NOW, tick=False):
        old = create(PLAIN | {"minutes_ago": 10 * 24 * 60}, 1, [service])
        rollups_refresh(now=NOW)
        assert RollupCell.objects.get(day=old.detected_at.date()).unresolved == 1

        old.resolved_at = old.detected_at + timedelta(hours=2)
        old.save()
        # Its day, and the later ones the rollups hold, whose incidents may
        # repeat it.
        assert list(
            RollupDirty.objects.order_by("day").values_list("day", flat=True)
        ) == [old.detected_at.date() + timedelta(days=n) for n in range(9)]

        assert rollups_refresh(now=NOW) == 9
        assert RollupCell.objects.get(day=old.detected_at.date()).unresolved == 0
        assert not RollupDirty.objects.exists()


def repeats(user) -> int:
    keys = ["repeat_incidents"]
    report = kpi_report(user=user, filters=dict(NO_FILTERS), now=NOW, keys=keys)
    return next(row["value"] for row in report if row["subject"] == "count")


def test_a_late_change_to_an_old_incident_changes_whether_a_later_day_repeats_it(db):
    user = UserFactory(username="repeats", is_superuser=True)
    service = ServiceFactory()
    with time_machine.travel(NOW, tick=False):
        first = create(PLAIN | {"minutes_ago": 20 * 24 * 60}, 1, [service])
        later = create(PLAIN | {"minutes_ago": 10 * 24 * 60}, 2, [service])
        rollups_refresh(now=NOW)
        assert RollupCell.objects.get(day=later.detected_at.date()).repeats == 1
        assert repeats(user) == 1

        first.category = "security"
        first.save()
        assert repeats(user) == 0  # the later day is dirty: read raw

        rollups_refresh(now=NOW)
        assert RollupCell.objects.get(day=later.detected_at.date()).repeats == 0
        assert repeats(user) == 0


def test_the_sla_view_from_cells_counts_what_the_incidents_do(db):
    user = UserFactory(username="sla", is_superuser=True)
    service, _ = two_services()
    with time_machine.travel(NOW, tick=False):
        for n, (severity, days_ago, ack, resolve, updates) in enumerate(
            (
                ("P0", 20, 600.0, 1800.0, []),  # resolved in time, no update
                ("P0", 20, 3600.0, 4 * 3600.0, []),  # both late, updates missed
                ("P1", 15, 60.0, None, []),  # still open: its cadence grows
                ("P1", 12, 60.0, 10 * 3600.0, [3000, 9000]),  # posted updates
                ("P2", 10, None, None, [600]),  # never acknowledged
                ("P2", 0, 60.0, None, []),  # today: read from the incidents
            )
        ):
            spec = detected(
                f"{(NOW - timedelta(days=days_ago, hours=1)):%Y-%m-%dT%H:%M}"
            )
            create(
                spec
                | {"severity": severity, "ack": ack, "resolve": resolve}
                | {"updates": updates},
                n,
                [service],
            )
        rollups_refresh(now=NOW)
        assert RollupCell.objects.exists()
        assert_same_as_the_incidents(user)

        # A day and 70 minutes later (past the open incident's place in its
        # cadence) it owes more updates than its cell did;
        # an update posted late to a resolved one changes its day's count.
        later = NOW + timedelta(days=1, minutes=70)
        with time_machine.travel(later, tick=False):
            post_update(Incident.objects.get(public_id="R-1"), 3000)
            report = sla_report(user=user, filters=dict(NO_FILTERS), now=later)
            incidents = metric_incidents(user=user, **NO_FILTERS)
            tally = cadence_tally(
                unposted=incidents,
                posted=incidents,
                targets={t["code"]: t for t in severity_targets()},
                now=later,
            )
        assert {
            row["severity"]: (row["updates_due"], row["updates_missed"])
            for row in report
        } == tally | {"P3": (0, 0)}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no percentile_cont"
)
@pytest.mark.parametrize(
    "extra",
    [
        {},  # a few incidents a day: cheaper summarised than merged by day
        {"services": ["rolled-0"], "categories": ["other"]},  # the finest shape
    ],
)
def test_sparse_days_or_service_and_category_days_are_summarised_exactly(db, extra):
    user = UserFactory(username="days", is_superuser=True)
    services = two_services()
    with time_machine.travel(NOW, tick=False):
        for n, ack in enumerate((61.0, 62.0)):
            create(detected("2026-02-10T12:00") | {"ack": ack}, n, services)
        rollups_refresh(now=NOW)
        assert RollupCell.objects.filter(day="2026-02-10").exists()
        rows = response_time_report(
            user=user, filters=NO_FILTERS | extra, group_by="period", period="day"
        )

    # A shaped cell's histogram would say within 5 %; the incidents say 61.5.
    assert [(row["group"], row["time_to_acknowledge_p50"]) for row in rows] == [
        ("2026-02-10", 61.5)
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the order of a PostgreSQL table"
)
def test_the_shaped_cells_of_a_build_lie_in_the_table_in_the_order_reads_ask(db):
    services = two_services()
    with time_machine.travel(NOW, tick=False):
        create_each(
            services,
            ("2026-03-02T12:00", 1, "security", "P2"),
            ("2026-03-02T13:00", 0, "database", "P1"),
            ("2026-03-03T12:00", 0, "other", "P3"),
            ("2026-03-04T12:00", 1, "database", "P1"),
        )
        rollups_refresh(now=NOW)
    with connection.cursor() as cursor:
        # The table's own order: its rows' physical places.
        cursor.execute(
            "SELECT grain, shape, is_drill, team_id, service_id, severity,"
            " category, start, local_start FROM metrics_rollupshapecell"
            " WHERE grain = 'day' ORDER BY ctid"
        )
        stored = cursor.fetchall()

    assert len(stored) > 20
    assert stored == sorted(stored)
