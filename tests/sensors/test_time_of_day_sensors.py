"""TimeSensor (a time of day, on the day the attempt runs, in the DAG's zone or the time's
own) and DayOfWeekSensor (today's or the logical date's week day), on a fake clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from headwater import DAG
from headwater.clock import FakeClock
from headwater.exceptions import DagDefinitionError
from headwater.sensors import DayOfWeekSensor, TimeSensor, TimeSensorAsync
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
BERLIN_WINTER = timezone(timedelta(hours=1))
MONDAY_7AM = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)


def _context_at(now: datetime, logical_date: datetime | None = None) -> dict[str, Any]:
    """What a poke reads: the attempt's clock and log, the run's logical date."""
    ti = SimpleNamespace(now=lambda: now, log=logging.getLogger("test.sensor"))
    return {"ti": ti, "logical_date": logical_date or now}


def test_time_sensor_passes_once_todays_time_has_come() -> None:
    with DAG("after_six", start_date=START) as dag:
        TimeSensor(task_id="after_six", target_time=time(6, 0))
    with DAG("after_eight", start_date=START):
        after_eight = TimeSensor(task_id="after_eight", target_time=time(8, 0))
    # 07:00 UTC on 2024-05-06: 06:00 has passed, 08:00 has not.
    result = run_dag(dag, clock=FakeClock(MONDAY_7AM))
    assert result.task_states == {"after_six": "success"}
    assert "Checking whether the time (2024-05-06T06:00:00+00:00) has come" in result.log(
        "after_six"
    )
    assert after_eight.poke(_context_at(MONDAY_7AM)) is False
    assert after_eight.poke(_context_at(MONDAY_7AM + timedelta(hours=1, seconds=1))) is True


def test_time_sensor_reads_the_time_in_the_dags_zone_or_its_own() -> None:
    with DAG("zoned", start_date=datetime(2024, 1, 1, tzinfo=BERLIN_WINTER)):
        dag_zone = TimeSensor(task_id="dag_zone", target_time=time(7, 30))
        own_zone = TimeSensor(task_id="own_zone", target_time=time(7, 30, tzinfo=UTC))
    # 07:00 UTC is 08:00 at UTC+1: 07:30 there has passed, 07:30 UTC has not.
    assert dag_zone.poke(_context_at(MONDAY_7AM)) is True
    assert own_zone.poke(_context_at(MONDAY_7AM)) is False


def test_time_sensor_async_that_has_nothing_to_wait_for_does_not_defer() -> None:
    with DAG("async_time", start_date=START) as dag:
        TimeSensorAsync(task_id="wait", target_time=time(0, 0))
    result = run_dag(dag, clock=FakeClock(datetime(2024, 5, 6, 7, 0, tzinfo=UTC)))
    assert result.state_of("wait") == "success"


def test_time_sensor_refuses_what_is_not_a_time_of_day() -> None:
    with (
        DAG("bad", start_date=START),
        pytest.raises(DagDefinitionError, match=r"task .w.: target_time must be a datetime\.time"),
    ):
        TimeSensor(task_id="w", target_time="18:00")  # type: ignore[arg-type]


def test_day_of_week_sensor_today_or_the_logical_dates_day() -> None:
    monday = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    saturday = datetime(2024, 5, 4, tzinfo=UTC)
    with DAG("weekdays", start_date=START) as dag:
        DayOfWeekSensor(task_id="monday_today", week_day="MONDAY")
        DayOfWeekSensor(task_id="saturday_run", week_day="Saturday", use_task_logical_date=True)
    with DAG("weekend", start_date=START):
        weekend = DayOfWeekSensor(task_id="weekend_today", week_day={"Saturday", "sunday"})
    result = run_dag(dag, logical_date=saturday, clock=FakeClock(monday))
    assert result.task_states == {"monday_today": "success", "saturday_run": "success"}
    assert "2024-05-06 is a Monday; waiting for Monday" in result.log("monday_today")
    assert weekend.poke(_context_at(monday)) is False
    assert weekend.poke(_context_at(monday, logical_date=saturday)) is False
    assert weekend.poke(_context_at(monday - timedelta(days=1))) is True


def test_day_of_week_sensor_refuses_an_unknown_day() -> None:
    with (
        DAG("bad_day", start_date=START),
        pytest.raises(DagDefinitionError, match="task 'w': week_day"),
    ):
        DayOfWeekSensor(task_id="w", week_day="Caturday")
