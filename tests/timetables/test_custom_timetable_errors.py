"""A custom timetable whose own code fails: the error names the DAG and the timetable, and
the scheduler goes on with the other DAGs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater import DAG
from headwater.exceptions import HeadwaterError, InvalidScheduleError
from headwater.scheduler.run_planning import intervals_between, next_scheduled_interval
from headwater.timetables import DagRunInfo, Timetable

START = datetime(2024, 1, 1, tzinfo=UTC)


class Broken(Timetable):
    def next_dagrun_info(self, **kwargs: Any) -> DagRunInfo | None:
        raise ZeroDivisionError("division by zero")


class Refusing(Broken):
    def validate(self) -> None:
        raise RuntimeError("needs a region")


def test_a_failing_timetable_plans_no_run_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    dag = DAG("broken", schedule=Broken(), start_date=START)
    with caplog.at_level(logging.ERROR):
        assert next_scheduled_interval(dag, None, START) is None
    assert (
        "DAG broken gets no scheduled run: its timetable Broken (Broken) failed to plan the next "
        "run: ZeroDivisionError: division by zero"
    ) in caplog.text
    with pytest.raises(HeadwaterError, match="DAG 'broken': its timetable Broken"):
        intervals_between(dag, START, START)


def test_a_timetable_that_refuses_itself_names_the_dag() -> None:
    with pytest.raises(
        InvalidScheduleError,
        match="DAG 'refusing': schedule: timetable Refusing refused itself: RuntimeError: needs",
    ):
        DAG("refusing", schedule=Refusing())
