"""LatestOnlyOperator, BranchDayOfWeekOperator and BranchDateTimeOperator: their decisions on
fixed dates, and whole runs that skip exactly the branches Airflow would skip."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater import DAG
from headwater.clock import FakeClock
from headwater.dag_test import InProcessRun
from headwater.engine.driver import drive_run
from headwater.engine.run_factory import new_dag_run
from headwater.exceptions import DagDefinitionError
from headwater.executors.in_process import InProcessExecutor
from headwater.operators import (
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    LatestOnlyOperator,
    WeekDay,
)
from headwater.operators.branch import within
from headwater.operators.latest_only import latest_window
from headwater.settings import load_settings
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
MONDAY = datetime(2024, 1, 1, 12, tzinfo=UTC)  # 2024-01-01 was a Monday
SATURDAY = datetime(2024, 1, 6, 12, tzinfo=UTC)


# -- BranchDayOfWeekOperator ---------------------------------------------------------------------


def week_dag(week_day: object) -> DAG:
    with DAG("week", start_date=START, schedule="@daily") as dag:
        branch = BranchDayOfWeekOperator(
            task_id="branch",
            week_day=week_day,  # type: ignore[arg-type]
            follow_task_ids_if_true="weekend",
            follow_task_ids_if_false=["work", "commute"],
            use_task_logical_date=True,
        )
        branch >> [EmptyOperator(task_id=t) for t in ("weekend", "work", "commute")]
    return dag


@pytest.mark.parametrize(
    "week_day", [{"Saturday", "sunday"}, [WeekDay.SATURDAY, WeekDay.SUNDAY], "SATURDAY"]
)
def test_day_of_week_follows_the_true_branch_on_a_listed_day(week_day: object) -> None:
    result = run_dag(week_dag(week_day), logical_date=SATURDAY)
    assert result.task_states == {
        "branch": "success",
        "weekend": "success",
        "work": "skipped",
        "commute": "skipped",
    }
    assert result.xcom("branch") == ["weekend"]


def test_day_of_week_follows_the_false_branch_on_another_day() -> None:
    result = run_dag(week_dag(WeekDay.SATURDAY), logical_date=MONDAY)
    assert result.task_states["weekend"] == "skipped"
    assert result.task_states["work"] == result.task_states["commute"] == "success"


def test_day_of_week_without_the_logical_date_uses_today_in_the_dags_zone() -> None:
    today = datetime.now(ZoneInfo("Pacific/Kiritimati"))
    with DAG("today", start_date=datetime(2024, 1, 1, tzinfo=ZoneInfo("Pacific/Kiritimati"))):
        branch = BranchDayOfWeekOperator(
            task_id="branch",
            week_day=WeekDay(today.isoweekday()),
            follow_task_ids_if_true="yes",
            follow_task_ids_if_false="no",
        )
        branch >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    # Far ahead of UTC: a day that is not UTC's for half of each day (unless midnight passes).
    result = run_dag(branch.dag, logical_date=SATURDAY)  # type: ignore[arg-type]
    if datetime.now(ZoneInfo("Pacific/Kiritimati")).date() == today.date():
        assert result.task_states == {"branch": "success", "yes": "success", "no": "skipped"}


def test_a_bad_week_day_is_refused_naming_the_task_and_the_days() -> None:
    with pytest.raises(DagDefinitionError, match=r"task 'branch': week_day: 'Funday' is not a"):
        week_dag("Funday")
    with pytest.raises(DagDefinitionError, match="no week day given"):
        week_dag(set())


# -- BranchDateTimeOperator ----------------------------------------------------------------------


def test_within_compares_with_datetimes_and_times_of_day() -> None:
    noon = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert within(noon, time(9), time(17), UTC)
    assert not within(noon, time(13), time(17), UTC)
    assert within(noon, None, time(12), UTC)  # bounds are inclusive
    late = datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert within(late, time(22), time(2), UTC)  # upper before lower: the next day
    assert not within(noon, time(22), time(2), UTC)
    assert within(noon, datetime(2024, 1, 1, 11, tzinfo=UTC), None, UTC)
    assert not within(noon, datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC), UTC)
    # Naive times are in the DAG's zone: noon UTC is 13:00 in Paris in winter.
    paris = ZoneInfo("Europe/Paris")
    assert within(noon, time(13), time(13, 30), paris)
    assert not within(noon, time(12), time(12, 30), paris)


def window_dag(lower: object, upper: object, *, logical: bool = True) -> DAG:
    with DAG("window", start_date=START) as dag:
        branch = BranchDateTimeOperator(
            task_id="branch",
            target_lower=lower,  # type: ignore[arg-type]
            target_upper=upper,  # type: ignore[arg-type]
            follow_task_ids_if_true="inside",
            follow_task_ids_if_false="outside",
            use_task_logical_date=logical,
        )
        branch >> [EmptyOperator(task_id="inside"), EmptyOperator(task_id="outside")]
    return dag


def test_date_time_branch_on_the_logical_date() -> None:
    result = run_dag(window_dag(time(9), time(17)), logical_date=MONDAY)
    assert result.task_states == {"branch": "success", "inside": "success", "outside": "skipped"}
    result = run_dag(window_dag(time(13), None), logical_date=MONDAY)
    assert result.task_states == {"branch": "success", "inside": "skipped", "outside": "success"}


def test_date_time_branch_on_now() -> None:
    now = datetime.now(UTC)
    dag = window_dag(now - timedelta(hours=1), now + timedelta(hours=1), logical=False)
    assert run_dag(dag, logical_date=START).task_states["inside"] == "success"
    dag = window_dag(now + timedelta(hours=1), None, logical=False)
    assert run_dag(dag, logical_date=START).task_states["inside"] == "skipped"


def test_date_time_branch_needs_a_bound_of_the_right_type() -> None:
    with pytest.raises(DagDefinitionError, match="target_lower and target_upper are both None"):
        window_dag(None, None)
    with pytest.raises(DagDefinitionError, match="target_upper must be a datetime, a time"):
        window_dag(time(1), "17:00")


# -- LatestOnlyOperator --------------------------------------------------------------------------


def latest_dag(schedule: object = "@daily") -> DAG:
    with DAG("latest", start_date=START, schedule=schedule, catchup=True) as dag:  # type: ignore[arg-type]
        latest = LatestOnlyOperator(task_id="latest_only")
        report = EmptyOperator(task_id="report")
        also = EmptyOperator(task_id="also")
        latest >> report >> also
        EmptyOperator(task_id="independent")
    return dag


def test_the_latest_window_runs_to_the_end_of_the_next_interval() -> None:
    day = timedelta(days=1)
    dag = latest_dag()
    assert latest_window(dag, START, START + day) == (START, START + 2 * day)
    assert latest_window(latest_dag("@hourly"), START, START + timedelta(hours=1)) == (
        START,
        START + timedelta(hours=2),
    )
    assert latest_window(latest_dag(None), START, START) is None  # a point in time
    assert latest_window(latest_dag("@once"), START, START) is None


def scheduled_run(dag: DAG, logical_date: datetime) -> dict[str, str]:
    """Run ``dag`` in process as a *scheduled* run of ``logical_date``'s interval."""
    clock = FakeClock(datetime.now(UTC))
    run = new_dag_run(dag, logical_date=logical_date, run_type="scheduled")
    local = InProcessRun(dag, run, settings=load_settings(), store=None, clock=clock)
    drive_run(local.engine, InProcessExecutor(local.run_attempt), clock, None)
    return {ti.task_id: ti.state.value for ti in local.result().task_instances}


def test_an_old_scheduled_run_skips_what_follows_latest_only() -> None:
    states = scheduled_run(latest_dag(), START)
    assert states == {
        "latest_only": "success",
        "report": "skipped",
        "also": "skipped",
        "independent": "success",
    }


def test_the_latest_scheduled_run_runs_what_follows() -> None:
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)  # its interval ended at midnight today
    states = scheduled_run(latest_dag(), yesterday)
    assert set(states.values()) == {"success"}


def test_a_manual_run_never_skips() -> None:
    result = run_dag(latest_dag(), logical_date=START)
    assert set(result.task_states.values()) == {"success"}
