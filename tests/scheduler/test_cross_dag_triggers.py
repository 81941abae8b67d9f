"""The triggers of the cross-DAG operators: they read other DAGs' runs (run by the scheduler
here) through the access of their process, survive serialization, and fire once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cross_dag_harness import cross_harness
from scheduler_harness import Harness

from headwater.authoring.dag_runs_access import use_dag_runs_store
from headwater.operations import delete_run, trigger_run
from headwater.operations.cross_dag import close_settings_stores
from headwater.triggers.base import BaseTrigger, build_trigger, run_coroutine
from headwater.triggers.external_task import DagStateTrigger, WorkflowTrigger


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    yield from cross_harness(request.param, request, tmp_path, monkeypatch)


DAY = datetime(2024, 1, 3, tzinfo=UTC)

CHILD = """
from headwater import TaskGroup

with DAG("child", start_date=START, schedule=None, params={"fail": False}):
    @task
    def work(**context):
        if context["params"]["fail"]:
            raise ValueError("broken")

    with TaskGroup("checks"):
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")

    work()
"""


def _child_run(harness: Harness, run_id: str, *, fail: bool = False) -> str:
    harness.write_dag("child", CHILD)
    harness.process()
    run = trigger_run(
        harness.store,
        "child",
        conf={"fail": fail},
        logical_date=DAY,
        run_id=run_id,
        now=harness.clock.now(),
    )
    return run.run_id


async def _first_event(trigger: BaseTrigger) -> Any:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def test_dag_state_trigger_fires_when_the_run_ends(cross: Harness) -> None:
    run_id = _child_run(cross, "r1")
    trigger = DagStateTrigger(
        dag_id="child", run_ids=[run_id], states=["success", "failed"], poll_interval=0
    )
    with use_dag_runs_store(cross.store):
        assert trigger.poll() is None  # queued
        cross.run_until(cross.finished("child", run_id))
        payload = run_coroutine(_first_event(trigger))
    assert payload == {"dag_id": "child", "run_ids": ["r1"], "states": {"r1": "success"}}

    delete_run(cross.store, "child", run_id)
    with use_dag_runs_store(cross.store):
        assert trigger.poll() == {"r1": "deleted"}


def test_workflow_trigger_on_tasks_a_group_and_failed_states(cross: Harness) -> None:
    failing = _child_run(cross, "r2", fail=True)
    on_work = WorkflowTrigger(
        external_dag_id="child",
        logical_dates=[DAY],
        external_task_ids=["work"],
        failed_states=["failed"],
        poll_interval=0,
    )
    on_group = WorkflowTrigger(
        external_dag_id="child", logical_dates=[DAY], external_task_group_id="checks"
    )
    with use_dag_runs_store(cross.store):
        assert on_work.poll() is None
        assert on_group.poll() is None
        cross.run_until(cross.finished("child", failing))
        assert run_coroutine(_first_event(on_work)) == {"status": "failed"}
        assert on_group.poll() == "success"
        elsewhere = WorkflowTrigger(
            external_dag_id="child",
            logical_dates=[datetime(2024, 1, 2, tzinfo=UTC)],
            external_task_group_id="checks",
        )
        assert elsewhere.poll() is None


def test_triggers_are_built_again_from_what_they_serialize() -> None:
    for trigger in (
        WorkflowTrigger(
            external_dag_id="child",
            logical_dates=[DAY],
            external_task_ids=["a", "b"],
            allowed_states=["success", "skipped"],
            failed_states=["failed"],
            poll_interval=7,
        ),
        DagStateTrigger(dag_id="child", run_ids=["r"], states=["success"], poll_interval=3),
    ):
        classpath, kwargs = trigger.serialize()
        assert build_trigger(classpath, kwargs).serialize() == (classpath, kwargs)
    assert WorkflowTrigger(external_dag_id="d", logical_dates=[DAY]).serialize()[1][
        "logical_dates"
    ] == ["2024-01-03T00:00:00+00:00"]


def test_in_a_process_with_no_store_named_a_trigger_reads_the_settings_database(
    cross: Harness,
) -> None:
    if "unused" in cross.url:
        pytest.skip("the memory store is not a database of the settings")
    run_id = _child_run(cross, "r3")
    cross.run_until(cross.finished("child", run_id))
    trigger = DagStateTrigger(dag_id="child", run_ids=[run_id], states=["success"])
    try:
        assert run_coroutine(_first_event(trigger))["states"] == {"r3": "success"}
    finally:
        close_settings_stores()
