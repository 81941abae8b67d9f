from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG
from headwater.exceptions import HeadwaterError
from headwater.scheduler.run_planning import (
    DataInterval,
    intervals_between,
    next_scheduled_interval,
)


def d(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


JAN_1 = d(1)


def make(schedule, *, start=JAN_1, catchup=True, end=None) -> DAG:
    return DAG("planned", schedule=schedule, start_date=start, end_date=end, catchup=catchup)


def walk(dag: DAG, now: datetime) -> list[DataInterval]:
    """The intervals a scheduler would create up to ``now``, one after another."""
    out: list[DataInterval] = []
    last = None
    while (nxt := next_scheduled_interval(dag, last, now)) and nxt.create_after <= now:
        out.append(nxt)
        last = nxt
    return out


def test_daily_cron_runs_for_each_complete_day_with_catchup() -> None:
    runs = walk(make("@daily"), now=d(4, 6))
    assert [(r.start, r.end) for r in runs] == [(d(1), d(2)), (d(2), d(3)), (d(3), d(4))]
    assert runs[0].logical_date == d(1)


def test_a_run_is_created_only_once_its_interval_has_ended() -> None:
    nxt = next_scheduled_interval(make("@daily"), None, now=d(1, 23))
    assert nxt == DataInterval(d(1), d(2))
    assert nxt.create_after == d(2)
    assert walk(make("@daily"), now=d(1, 23)) == []
    assert walk(make("@daily"), now=d(2)) == [DataInterval(d(1), d(2))]


def test_start_date_between_fire_times_starts_at_the_next_fire_time() -> None:
    runs = walk(make("0 6 * * *", start=d(1, 10)), now=d(4))
    assert [r.start for r in runs] == [datetime(2024, 1, 2, 6, tzinfo=UTC)]


def test_without_catchup_only_the_latest_complete_interval_runs() -> None:
    dag = make("@daily", catchup=False)
    first = next_scheduled_interval(dag, None, now=d(10, 12))
    assert first == DataInterval(d(9), d(10))
    # Later, it goes on from there without skipping.
    assert next_scheduled_interval(dag, first, now=d(10, 13)) == DataInterval(d(10), d(11))
    # After a long pause it skips ahead again.
    assert next_scheduled_interval(dag, first, now=d(20, 1)) == DataInterval(d(19), d(20))


def test_without_catchup_before_any_interval_ended_the_first_one_waits() -> None:
    dag = make("@daily", catchup=False, start=d(5))
    assert next_scheduled_interval(dag, None, now=d(5, 12)) == DataInterval(d(5), d(6))


def test_timedelta_schedule_counts_from_the_start_date() -> None:
    dag = make(timedelta(hours=8), start=d(1, 1))
    runs = walk(dag, now=d(2, 2))
    assert [r.start for r in runs] == [d(1, 1), d(1, 9), d(1, 17)]
    assert runs[-1].end == d(2, 1)


def test_timedelta_without_catchup_stays_aligned_to_the_start_date() -> None:
    dag = make(timedelta(hours=8), start=d(1, 1), catchup=False)
    assert next_scheduled_interval(dag, None, now=d(3, 3)) == DataInterval(d(2, 17), d(3, 1))


def test_presets_are_cron_schedules() -> None:
    runs = walk(make("@weekly"), now=d(21))
    assert [r.start.weekday() for r in runs] == [6, 6]  # Sundays: 2024-01-07 and 14
    assert runs[0].start == d(7)


def test_end_date_stops_scheduling() -> None:
    runs = walk(make("@daily", end=d(3)), now=d(10))
    assert [r.start for r in runs] == [d(1), d(2), d(3)]


def test_once_runs_one_time_at_the_start_date() -> None:
    dag = make("@once", start=d(2))
    assert walk(dag, now=d(1)) == []
    assert walk(dag, now=d(3)) == [DataInterval(d(2), d(2))]


def test_unscheduled_dags_have_no_scheduled_runs() -> None:
    assert next_scheduled_interval(make(None), None, now=d(9)) is None
    assert next_scheduled_interval(DAG("no_start", schedule="@daily"), None, now=d(9)) is None


def test_backfill_intervals_cover_logical_dates_in_the_range() -> None:
    runs = intervals_between(make("@daily"), d(3), d(5))
    assert [(r.start, r.end) for r in runs] == [(d(3), d(4)), (d(4), d(5)), (d(5), d(6))]
    hourly = intervals_between(make("@hourly"), d(3, 22), d(4, 1))
    assert [r.start.hour for r in hourly] == [22, 23, 0, 1]


def test_backfill_of_an_unscheduled_dag_is_refused() -> None:
    with pytest.raises(HeadwaterError, match="no intervals to backfill"):
        intervals_between(make(None), d(1), d(2))
