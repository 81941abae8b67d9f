"""The workday timetable of docs/data-aware.md: one run per working day, none at weekends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workday_timetable import WorkdayTimetable

from headwater import DAG
from headwater.scheduler.run_planning import (
    DataInterval,
    intervals_between,
    next_scheduled_interval,
)

DOCS = Path(__file__).parents[2] / "docs" / "data-aware.md"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)  # 2024-01-01 is a Monday


def test_a_workday_dag_runs_monday_to_friday_only() -> None:
    dag = DAG("sales", schedule=WorkdayTimetable(), start_date=at(1), catchup=True)
    days = intervals_between(dag, at(1), at(14))
    assert [(i.start.day, i.end.day) for i in days] == [
        (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (8, 9), (9, 10), (10, 11), (11, 12), (12, 13)
    ]  # fmt: skip
    friday = days[4]
    assert (friday.logical_date, friday.create_after) == (at(5), at(6))  # created Saturday 00:00


def test_without_catchup_it_starts_at_the_last_working_day_that_ended() -> None:
    dag = DAG("sales", schedule=WorkdayTimetable(), start_date=at(1), catchup=False)
    # Sunday the 14th: Friday the 12th is the latest working day that has ended.
    first = next_scheduled_interval(dag, None, now=at(14, 9))
    assert first == DataInterval(at(12), at(13))
    assert next_scheduled_interval(dag, first, now=at(14, 9)) == DataInterval(at(15), at(16))


def test_a_manual_run_covers_the_last_working_day_that_ended() -> None:
    workdays = WorkdayTimetable()
    assert workdays.infer_manual_data_interval(run_after=at(7, 15)) == (at(5), at(6))  # Sunday
    assert workdays.infer_manual_data_interval(run_after=at(9, 15)) == (at(8), at(9))  # Tuesday
    assert workdays.summary == "workdays"


def test_the_docs_show_this_very_timetable() -> None:
    code = (Path(__file__).parent / "workday_timetable.py").read_text().rstrip("\n")
    assert code in DOCS.read_text()
