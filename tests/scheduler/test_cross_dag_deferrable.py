"""The deferrable forms: ``ExternalTaskSensor(deferrable=True)`` and
``TriggerDagRunOperator(wait_for_completion=True, deferrable=True)`` hand their wait to a
trigger and hold no worker slot; the trigger reads the other DAG's runs and fires, and the
task resumes in ``execute_complete``. The triggerer's part (build the trigger from its row,
run it until its first event, ``fire_trigger``) is done here as the triggerer does it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cross_dag_harness import cross_harness
from scheduler_harness import Harness

from headwater.authoring.dag_runs_access import use_dag_runs_store
from headwater.operations import trigger_run
from headwater.store.triggers import WAITING
from headwater.triggers.base import BaseTrigger, build_trigger, run_coroutine


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    yield from cross_harness(request.param, request, tmp_path, monkeypatch)


DAY = datetime(2024, 1, 3, tzinfo=UTC)
_numbers = itertools.count()

UPSTREAM = """
with DAG("upstream", start_date=START, schedule=None, params={"fail": False}):
    @task
    def publish(**context):
        if context["params"]["fail"]:
            raise ValueError("no data today")

    publish()
"""


async def _first_event(trigger: BaseTrigger) -> Any:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def _fire_triggers(harness: Harness) -> int:
    """What the triggerer does with each waiting trigger: build it from its row, run it
    until its first event (reading the runs through the harness's store), fire it."""
    fired = 0
    for row in harness.store.list_triggers([WAITING]):
        trigger = build_trigger(row.classpath, row.kwargs)
        with use_dag_runs_store(harness.store):
            payload = run_coroutine(asyncio.wait_for(_first_event(trigger), timeout=10))
        fired += harness.store.fire_trigger(row.id, payload, harness.clock.now())
    return fired


def _run(harness: Harness, dag_id: str, *, until: str = "finished", **conf: Any) -> str:
    run = trigger_run(
        harness.store,
        dag_id,
        conf=conf,
        logical_date=DAY,
        run_id=f"{dag_id}_{next(_numbers)}",
        now=harness.clock.now(),
    )
    if until == "finished":
        harness.run_until(harness.finished(dag_id, run.run_id))
    else:
        harness.run_until(lambda: until in harness.states(dag_id, run.run_id).values())
    return run.run_id


def _sensor_dag(harness: Harness, args: str) -> None:
    harness.write_dag("upstream", UPSTREAM)
    harness.write_dag(
        "downstream",
        f"""
        from headwater.sensors import ExternalTaskSensor

        with DAG("downstream", start_date=START, schedule=None):
            ExternalTaskSensor(task_id="wait", external_dag_id="upstream",
                               external_task_id="publish", deferrable=True,
                               poll_interval=0.01, {args})
        """,
    )
    harness.process()


def test_a_deferrable_sensor_waits_in_a_trigger_and_resumes_when_the_task_succeeded(
    cross: Harness,
) -> None:
    _sensor_dag(cross, "timeout=3600")
    run_id = _run(cross, "downstream", until="deferred")
    (row,) = cross.store.list_triggers()
    assert row.classpath == "headwater.triggers.external_task.WorkflowTrigger"
    assert row.kwargs["logical_dates"] == ["2024-01-03T00:00:00+00:00"]
    assert cross.scheduler._active == {}  # no worker slot while it waits
    with use_dag_runs_store(cross.store):
        assert build_trigger(row.classpath, row.kwargs).poll() is None  # type: ignore[attr-defined]

    _run(cross, "upstream")
    assert _fire_triggers(cross) == 1
    cross.run_until(cross.finished("downstream", run_id))
    assert cross.states("downstream", run_id) == {"wait": "success"}
    attempts = cross.attempts("downstream", run_id, "wait")
    assert [a.state.value for a in attempts] == ["deferred", "success"]


def test_a_deferrable_sensor_fails_on_failed_states(cross: Harness) -> None:
    _sensor_dag(cross, 'failed_states=["failed"]')
    failing = _run(cross, "downstream", until="deferred")
    _run(cross, "upstream", fail=True)
    _fire_triggers(cross)
    cross.run_until(cross.finished("downstream", failing))
    *_, attempt = cross.attempts("downstream", failing, "wait")
    assert cross.states("downstream", failing) == {"wait": "failed"}
    assert "ExternalTaskFailedError: tasks ['publish'] of DAG 'upstream' reached one of " in (
        attempt.error or ""
    )


def test_a_deferrable_soft_fail_sensor_is_skipped(cross: Harness) -> None:
    _sensor_dag(cross, 'failed_states=["failed"], soft_fail=True')
    run_id = _run(cross, "downstream", until="deferred")
    _run(cross, "upstream", fail=True)
    _fire_triggers(cross)
    cross.run_until(cross.finished("downstream", run_id))
    assert cross.states("downstream", run_id) == {"wait": "skipped"}


@pytest.mark.parametrize("child_fails", [False, True])
def test_trigger_dag_run_waits_for_the_run_deferred(cross: Harness, child_fails: bool) -> None:
    cross.write_dag(
        "child",
        f"""
        with DAG("child", start_date=START, schedule=None):
            BashOperator(task_id="work", bash_command="exit {3 if child_fails else 0}")
        """,
    )
    cross.write_dag(
        "parent",
        """
        from headwater.operators import TriggerDagRunOperator

        with DAG("parent", start_date=START, schedule=None):
            TriggerDagRunOperator(task_id="kick", trigger_dag_id="child",
                                  trigger_run_id="waited", wait_for_completion=True,
                                  poke_interval=0.01, deferrable=True)
        """,
    )
    cross.process()
    parent = _run(cross, "parent", until="deferred")
    (row,) = cross.store.list_triggers()
    assert row.classpath == "headwater.triggers.external_task.DagStateTrigger"
    assert cross.xcom("parent", parent, "kick", "trigger_run_id") == "waited"

    cross.run_until(cross.finished("child", "waited"))
    _fire_triggers(cross)
    cross.run_until(cross.finished("parent", parent))
    (_, resumed) = cross.attempts("parent", parent, "kick")
    if child_fails:
        assert cross.states("parent", parent) == {"kick": "failed"}
        assert resumed.error == (
            "TriggeredRunFailed: run 'waited' of DAG 'child' ended failed (failed_states: failed)"
        )
    else:
        assert cross.states("parent", parent) == {"kick": "success"}
    assert len(cross.runs("child")) == 1  # resuming did not trigger again


def test_a_deferrable_sensor_whose_task_is_done_already_does_not_defer(cross: Harness) -> None:
    _sensor_dag(cross, "timeout=3600")
    _run(cross, "upstream")
    run_id = _run(cross, "downstream")
    assert cross.states("downstream", run_id) == {"wait": "success"}
    assert [a.state.value for a in cross.attempts("downstream", run_id, "wait")] == ["success"]
    assert cross.store.list_triggers() == []
