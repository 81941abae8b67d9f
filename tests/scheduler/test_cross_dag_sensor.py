"""ExternalTaskSensor under the scheduler: a task of one DAG waits for a task (or a group, or
the whole run) of another DAG at the same logical date, or at a date shifted from it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cross_dag_harness import cross_harness
from scheduler_harness import Harness

from headwater.exceptions import DagDefinitionError
from headwater.operations import trigger_run
from headwater.sensors import ExternalTaskSensor

DAY = datetime(2024, 1, 3, tzinfo=UTC)
_numbers = itertools.count()


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    yield from cross_harness(request.param, request, tmp_path, monkeypatch)


UPSTREAM = """
from headwater import TaskGroup


with DAG("upstream", start_date=START, schedule=None, params={"fail": False}):
    @task
    def publish(**context):
        if context["params"]["fail"]:
            raise ValueError("no data today")
        return "published"

    with TaskGroup("checks"):
        EmptyOperator(task_id="a")
        EmptyOperator(task_id="b")

    publish()
"""


def _downstream(harness: Harness, sensor_args: str) -> None:
    if "timeout=" not in sensor_args:
        sensor_args += ", timeout=120"
    harness.write_dag("upstream", UPSTREAM)
    harness.write_dag(
        "downstream",
        f"""
        from headwater.sensors import ExternalTaskSensor

        with DAG("downstream", start_date=START, schedule=None):
            ExternalTaskSensor(task_id="wait", external_dag_id="upstream", mode="reschedule",
                               poke_interval=60, {sensor_args})
        """,
    )
    harness.process()


def _run(harness: Harness, dag_id: str, when: datetime, **conf: object) -> str:
    run = trigger_run(
        harness.store,
        dag_id,
        conf=conf,
        logical_date=when,
        run_id=f"{dag_id}_{next(_numbers)}",
        now=harness.clock.now(),
    )
    harness.run_until(harness.finished(dag_id, run.run_id))
    return run.run_id


def _start(harness: Harness, when: datetime = DAY) -> str:
    """A run of ``downstream``, up to its sensor's first poke."""
    run = trigger_run(
        harness.store,
        "downstream",
        logical_date=when,
        run_id=f"downstream_{next(_numbers)}",
        now=harness.clock.now(),
    )
    harness.run_until(lambda: bool(harness.attempts("downstream", run.run_id, "wait")))
    return run.run_id


def _poke_until_done(harness: Harness, run_id: str) -> tuple[str, str]:
    """Let the sensor poke (every 60 s of the fake clock) until it ends: its state and the
    last attempt's error."""
    for _ in range(100):
        state = harness.states("downstream", run_id)["wait"]
        if state in ("success", "failed", "skipped"):
            break
        if state == "up_for_reschedule":
            harness.clock.advance(timedelta(seconds=60))
        harness.step()
    *_, attempt = harness.attempts("downstream", run_id, "wait")
    return harness.states("downstream", run_id)["wait"], attempt.error or ""


def _sensor(harness: Harness, when: datetime = DAY) -> tuple[str, str]:
    return _poke_until_done(harness, _start(harness, when))


def test_the_sensor_waits_for_the_other_dags_task_at_its_logical_date(cross: Harness) -> None:
    _downstream(cross, 'external_task_id="publish", timeout=3600')
    _run(cross, "upstream", DAY - timedelta(days=1))  # another date: not this one
    run_id = _start(cross)
    assert cross.states("downstream", run_id)["wait"] == "up_for_reschedule"
    cross.clock.advance(timedelta(seconds=60))
    cross.step()
    assert len(cross.attempts("downstream", run_id, "wait")) == 2  # poked again: still waits
    assert cross.states("downstream", run_id)["wait"] == "up_for_reschedule"

    _run(cross, "upstream", DAY)
    assert _poke_until_done(cross, run_id) == ("success", "")
    assert [a.state.value for a in cross.attempts("downstream", run_id, "wait")] == [
        "up_for_reschedule",
        "up_for_reschedule",
        "success",
    ]


def test_the_sensor_times_out_when_nothing_comes(cross: Harness) -> None:
    _downstream(cross, 'external_task_id="publish"')
    _run(cross, "upstream", DAY - timedelta(days=1))
    state, error = _sensor(cross)
    assert state == "failed"
    assert "SensorTimeout: sensor 'wait' timed out" in error


def test_execution_delta_looks_at_an_earlier_run(cross: Harness) -> None:
    _downstream(cross, 'external_task_id="publish", execution_delta=timedelta(hours=6)')
    _run(cross, "upstream", DAY - timedelta(hours=6))
    assert _sensor(cross) == ("success", "")


def test_execution_date_fn_gives_the_dates_and_every_one_must_be_allowed(cross: Harness) -> None:
    _downstream(
        cross,
        'external_task_id="publish", '
        "execution_date_fn=lambda when, ds: [when - timedelta(days=1), when]",
    )
    _run(cross, "upstream", DAY)
    assert _sensor(cross)[0] == "failed"
    _run(cross, "upstream", DAY - timedelta(days=1))
    assert _sensor(cross)[0] == "success"


def test_failed_states_fail_the_sensor_at_once_and_soft_fail_skips_it(cross: Harness) -> None:
    _downstream(cross, 'external_task_id="publish", failed_states=["failed"]')
    _run(cross, "upstream", DAY, fail=True)
    state, error = _sensor(cross)
    assert state == "failed"
    assert "tasks ['publish'] of DAG 'upstream' reached one of failed_states ['failed']" in error

    cross.write_dag(
        "downstream",
        """
        from headwater.sensors import ExternalTaskSensor

        with DAG("downstream", start_date=START, schedule=None):
            ExternalTaskSensor(task_id="wait", external_dag_id="upstream",
                               external_task_id="publish", failed_states=["failed"],
                               soft_fail=True, mode="reschedule")
        """,
    )
    cross.process()
    assert _sensor(cross, DAY)[0] == "skipped"


def test_by_default_a_failed_external_task_is_waited_on_until_the_timeout(
    cross: Harness,
) -> None:
    _downstream(cross, 'external_task_id="publish"')
    _run(cross, "upstream", DAY, fail=True)
    state, error = _sensor(cross)
    assert state == "failed"
    assert "SensorTimeout" in error


def test_the_whole_dag_run_and_a_task_group(cross: Harness) -> None:
    _downstream(cross, "check_existence=False")  # no task: the run itself
    _run(cross, "upstream", DAY)
    assert _sensor(cross)[0] == "success"

    cross.write_dag(
        "downstream",
        """
        from headwater.sensors import ExternalTaskSensor

        with DAG("downstream", start_date=START, schedule=None):
            ExternalTaskSensor(task_id="wait", external_dag_id="upstream",
                               external_task_group_id="checks", mode="reschedule")
        """,
    )
    cross.process()
    assert _sensor(cross, DAY)[0] == "success"


def test_check_existence_fails_at_once_for_an_unknown_task(cross: Harness) -> None:
    _downstream(cross, 'external_task_id="pubish", check_existence=True')
    state, error = _sensor(cross)
    assert state == "failed"
    assert "the external task 'pubish' of DAG 'upstream' does not exist" in error


def test_bad_arguments_are_refused_naming_the_task() -> None:
    with pytest.raises(DagDefinitionError, match="'wait': give external_task_id or external"):
        ExternalTaskSensor(
            task_id="wait", external_dag_id="x", external_task_id="a", external_task_ids=["b"]
        )
    with pytest.raises(DagDefinitionError, match="'wait': failed_states has 'up_for_retry'"):
        ExternalTaskSensor(task_id="wait", external_dag_id="x", failed_states=["up_for_retry"])
    with pytest.raises(DagDefinitionError, match="more than one of allowed_states"):
        ExternalTaskSensor(
            task_id="wait", external_dag_id="x", external_task_id="a", failed_states=["success"]
        )
