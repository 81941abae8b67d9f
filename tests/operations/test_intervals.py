"""Data intervals: backfills plan the scheduler's very intervals (the DAG's time zone, the
``start_date`` grid of a ``timedelta``), manual runs' intervals are read in the DAG's zone and
stored in UTC, and a backfill range with no interval at all is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from headwater.dag_test import run_dag_in_process
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import DagRunState
from headwater.operations import InvalidRequestError, plan_backfill, run_backfill, trigger_run
from headwater.operations._stored import stored_dag, xcoms_for
from headwater.operations.backfill import BackfillPlan
from headwater.scheduler.run_planning import (
    DataInterval,
    intervals_between,
    next_scheduled_interval,
)
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import scan_here, write_dags

BERLIN = ZoneInfo("Europe/Berlin")
PLUS_5 = timezone(timedelta(hours=5))

DAGS = """
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
from headwater import DAG
from headwater.operators import EmptyOperator

BERLIN = ZoneInfo("Europe/Berlin")

with DAG("berlin", schedule="0 6 * * *", catchup=True,
         start_date=datetime(2026, 11, 22, tzinfo=BERLIN)):
    EmptyOperator(task_id="a")

with DAG("halfday", schedule=timedelta(hours=12), catchup=True,
         start_date=datetime(2026, 11, 23, tzinfo=UTC)):
    EmptyOperator(task_id="a")

with DAG("ended", schedule="@daily", catchup=True,
         start_date=datetime(2026, 11, 1, tzinfo=UTC), end_date=datetime(2026, 11, 10, tzinfo=UTC)):
    EmptyOperator(task_id="a")
"""


def utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def zoned(store: SqlStore, folder: Path) -> SqlStore:
    """``store`` with the DAGs berlin, halfday and ended too."""
    write_dags(folder, DAGS, name="intervals.py")
    report = scan_here(store, folder)
    assert not report.errors, report
    return store


def schedule_runs(store: SqlStore, dag_id: str, now: datetime) -> list[DataInterval]:
    """Create every scheduled run due by ``now`` as the scheduler does (catchup), each
    succeeded; the intervals, oldest first."""
    _, dag = stored_dag(store, dag_id, action="trigger")
    made: list[DataInterval] = []
    last: DataInterval | None = None
    while (nxt := next_scheduled_interval(dag, last, now)) is not None and nxt.end <= now:
        run = new_dag_run(
            dag,
            logical_date=nxt.logical_date,
            run_type="scheduled",
            data_interval=(nxt.start, nxt.end),
        )
        run.state = DagRunState.SUCCESS
        DagRunEngine.create(dag, store, xcoms_for(store), run)
        made.append(nxt)
        last = nxt
    return made


def plan_rows(plan: BackfillPlan) -> list[tuple[object, ...]]:
    return [
        (i.logical_date, i.data_interval_start, i.data_interval_end, i.action, i.run_id, i.state)
        for i in plan
    ]


# -- 1. cron in the DAG's time zone ------------------------------------------------------------


def test_a_backfill_of_a_zoned_cron_dag_plans_the_scheduled_intervals(zoned: SqlStore) -> None:
    now = utc(26)
    made = schedule_runs(zoned, "berlin", now)
    # 06:00 in Berlin is 05:00 UTC in winter; stored and returned in UTC.
    assert [(i.start, i.end) for i in made] == [
        (utc(22, 5), utc(23, 5)),
        (utc(23, 5), utc(24, 5)),
        (utc(24, 5), utc(25, 5)),
    ]
    assert all(i.start.utcoffset() == timedelta(0) for i in made)
    plan = plan_backfill(zoned, "berlin", utc(22), utc(24, 23), now=now)
    assert plan_rows(plan) == [
        (
            utc(day, 5),
            utc(day, 5),
            utc(day + 1, 5),
            "skip",
            f"scheduled__2026-11-{day}T05:00:00+00:00",
            "success",
        )
        for day in (22, 23, 24)
    ]
    assert run_backfill(zoned, plan, 1, now).id is None  # nothing to create
    assert len(zoned.list_dag_runs("berlin")) == 3


def test_a_backfill_creates_runs_on_the_dag_zone_grid(zoned: SqlStore) -> None:
    plan = plan_backfill(zoned, "berlin", utc(22), utc(24, 23), now=utc(26))
    assert [(i.action, i.run_id) for i in plan] == [
        ("create", f"backfill__2026-11-{day}T05:00:00+00:00") for day in (22, 23, 24)
    ]
    result = run_backfill(zoned, plan, 1, utc(26))
    [first, *_] = zoned.list_dag_runs("berlin")
    assert result.created[0] == first.run_id
    assert (first.logical_date, first.data_interval_start, first.data_interval_end) == (
        utc(22, 5),
        utc(22, 5),
        utc(23, 5),
    )


def test_the_scheduler_stays_in_the_dag_zone_after_reading_its_last_run_back(
    zoned: SqlStore,
) -> None:
    """The last scheduled interval comes back from the database in UTC (a restart)."""
    schedule_runs(zoned, "berlin", utc(24, 6))  # the runs of the 22nd and the 23rd
    _, dag = stored_dag(zoned, "berlin", action="trigger")
    last = max(zoned.list_dag_runs("berlin"), key=lambda r: r.data_interval_start)
    assert last.data_interval_end.tzinfo == UTC
    nxt = next_scheduled_interval(
        dag, DataInterval(last.data_interval_start, last.data_interval_end), utc(25, 6)
    )
    assert nxt == DataInterval(utc(24, 5), utc(25, 5))


def test_cron_intervals_follow_the_dag_zone_across_a_dst_change() -> None:
    from headwater import DAG

    dag = DAG("dst", schedule="0 6 * * *", start_date=datetime(2026, 3, 1, tzinfo=BERLIN))
    march = [
        (i.start, i.end)
        for i in intervals_between(
            dag, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)
        )
    ]
    assert march == [
        (datetime(2026, 3, 28, 5, tzinfo=UTC), datetime(2026, 3, 29, 4, tzinfo=UTC)),
        (datetime(2026, 3, 29, 4, tzinfo=UTC), datetime(2026, 3, 30, 4, tzinfo=UTC)),
    ]


# -- 2. timedelta schedules on the start_date grid ---------------------------------------------


def test_a_timedelta_backfill_is_aligned_to_the_start_date(zoned: SqlStore) -> None:
    now = utc(25)
    made = schedule_runs(zoned, "halfday", now)
    assert [i.start for i in made] == [utc(23), utc(23, 12), utc(24), utc(24, 12)]
    plan = plan_backfill(zoned, "halfday", utc(23, 3), utc(24, 12), now=now)
    assert plan_rows(plan) == [
        (
            start,
            start,
            start + timedelta(hours=12),
            "skip",
            f"scheduled__{start.isoformat()}",
            "success",
        )
        for start in (utc(23, 12), utc(24), utc(24, 12))
    ]


def test_a_timedelta_in_a_zone_keeps_absolute_lengths_across_a_dst_change() -> None:
    from headwater import DAG

    start = datetime(2026, 10, 24, tzinfo=BERLIN)  # 10-23 22:00 UTC; DST ends on 10-25
    dag = DAG("dst12", schedule=timedelta(hours=12), start_date=start, catchup=True)
    found: list[DataInterval] = []
    last: DataInterval | None = None
    while len(found) < 4:
        last = next_scheduled_interval(dag, last, datetime(2026, 11, 1, tzinfo=UTC))
        assert last is not None
        found.append(last)
    first = start.astimezone(UTC)  # 12 h apart in UTC, not on Berlin's wall clock
    assert [(i.start, i.end) for i in found] == [
        (first + timedelta(hours=12 * k), first + timedelta(hours=12 * (k + 1))) for k in range(4)
    ]
    assert [i.start.hour for i in found] == [22, 10, 22, 10]
    assert intervals_between(dag, found[0].start, found[-1].start) == found


# -- 3. manual runs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logical_date", "interval"),
    [
        # 10:00+05:00 is 05:00 UTC on the 25th: the UTC day of the 25th.
        (datetime(2026, 11, 25, 10, tzinfo=PLUS_5), (utc(25), utc(26))),
        # 02:00+05:00 is 21:00 UTC on the 24th: the UTC day of the 24th.
        (datetime(2026, 11, 25, 2, tzinfo=PLUS_5), (utc(24), utc(25))),
    ],
)
def test_a_manual_run_of_a_utc_cron_dag_has_its_interval_in_the_dag_zone(
    zoned: SqlStore, logical_date: datetime, interval: tuple[datetime, datetime]
) -> None:
    run = trigger_run(zoned, "etl", logical_date=logical_date, now=utc(26))
    assert run.logical_date == logical_date
    assert (run.data_interval_start, run.data_interval_end) == interval
    assert run.data_interval_start.utcoffset() == timedelta(0)
    stored = zoned.get_dag_run("etl", run.run_id)
    assert stored is not None
    assert (stored.data_interval_start, stored.data_interval_end) == interval


@pytest.mark.parametrize(
    ("dag_id", "logical_date", "interval"),
    [
        # 06:30 in Berlin: the day from 06:00 Berlin (05:00 UTC).
        ("berlin", utc(25, 5, 30), (utc(25, 5), utc(26, 5))),
        # 05:30 in Berlin: still the previous day's interval.
        ("berlin", utc(25, 4, 30), (utc(24, 5), utc(25, 5))),
        # 12 h from 2026-11-23 00:00 UTC: the interval of the grid that contains 15:37.
        ("halfday", utc(25, 15, 37), (utc(25, 12), utc(26))),
        ("halfday", datetime(2026, 11, 25, 20, 37, tzinfo=PLUS_5), (utc(25, 12), utc(26))),
        ("halfday", utc(25, 12), (utc(25, 12), utc(26))),
    ],
)
def test_a_manual_run_takes_the_schedule_interval_that_contains_its_logical_date(
    zoned: SqlStore,
    settings: Settings,
    dag_id: str,
    logical_date: datetime,
    interval: tuple[datetime, datetime],
) -> None:
    run = trigger_run(zoned, dag_id, logical_date=logical_date, now=utc(26))
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (
        logical_date,
        *interval,
    )
    # `dags test --logical-date` builds its run the same way.
    _, dag = stored_dag(zoned, dag_id, action="trigger")
    local = run_dag_in_process(dag, logical_date=logical_date, settings=settings)
    assert (local.run.data_interval_start, local.run.data_interval_end) == interval


# -- 4. a range with no interval at all --------------------------------------------------------


def test_a_backfill_before_the_start_date_is_refused(zoned: SqlStore) -> None:
    start, end = datetime(2023, 12, 1, tzinfo=UTC), datetime(2023, 12, 5, tzinfo=UTC)
    with pytest.raises(InvalidRequestError) as caught:
        plan_backfill(zoned, "etl", start, end, now=utc(26))
    assert str(caught.value) == (
        "nothing to backfill: 2023-12-01T00:00:00+00:00..2023-12-05T00:00:00+00:00 has no "
        "interval of DAG 'etl''s schedule @daily between its start_date "
        "2024-01-01T00:00:00+00:00 and end_date (none)"
    )


def test_a_backfill_after_the_end_date_is_refused(zoned: SqlStore) -> None:
    with pytest.raises(
        InvalidRequestError,
        match=r"has no interval of DAG 'ended''s schedule @daily between its start_date "
        r"2026-11-01T00:00:00\+00:00 and end_date 2026-11-10T00:00:00\+00:00",
    ):
        plan_backfill(zoned, "ended", utc(20), utc(25), now=utc(26))
    # The end date itself is still a logical date of the schedule.
    assert [i.logical_date for i in plan_backfill(zoned, "ended", utc(10), utc(25))] == [utc(10)]


def test_the_cli_refuses_a_backfill_with_no_interval(
    zoned: SqlStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stored_dags import invoke

    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    result = invoke("dags", "backfill", "etl", "--start", "2023-12-01", "--end", "2023-12-05")
    assert result.exit_code == 1, result.output
    assert "has no interval of DAG 'etl''s schedule @daily" in result.stderr
    assert "start_date 2024-01-01T00:00:00+00:00" in result.stderr
