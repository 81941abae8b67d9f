"""ExternalTaskMarker: clearing a marker (with its dependent DAGs) clears the task waiting on it
in the other DAG, with that task's downstream tasks, and the scheduler runs them again."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cross_dag_harness import cross_harness
from scheduler_harness import Harness

from headwater.cli import cli
from headwater.operations import (
    InvalidRequestError,
    clear_task_instances,
    set_paused,
    trigger_run,
)
from headwater.operations import task_instances_to_clear as to_clear


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    yield from cross_harness(request.param, request, tmp_path, monkeypatch)


DAY = datetime(2024, 1, 3, tzinfo=UTC)
_numbers = itertools.count()


def _dags(harness: Harness, depth: int = 10, grandchild: bool = False) -> None:
    harness.write_dag(
        "parent",
        f"""
        from headwater.sensors import ExternalTaskMarker

        with DAG("parent", start_date=START, schedule=None):
            EmptyOperator(task_id="load") >> ExternalTaskMarker(
                task_id="mark", external_dag_id="child", external_task_id="wait",
                recursion_depth={depth})
        """,
    )
    marker = (
        'wait >> ExternalTaskMarker(task_id="mark", external_dag_id="grandchild", '
        'external_task_id="wait")'
        if grandchild
        else ""
    )
    harness.write_dag(
        "child",
        f"""
        from headwater.sensors import ExternalTaskMarker, ExternalTaskSensor

        with DAG("child", start_date=START, schedule=None):
            EmptyOperator(task_id="unrelated")
            wait = ExternalTaskSensor(task_id="wait", external_dag_id="parent",
                                      external_task_id="mark", mode="reschedule")
            wait >> EmptyOperator(task_id="train")
            {marker}
        """,
    )
    harness.process()


def _run(harness: Harness, dag_id: str) -> str:
    run = trigger_run(
        harness.store,
        dag_id,
        logical_date=DAY,
        run_id=f"{dag_id}_{next(_numbers)}",
        now=harness.clock.now(),
    )
    harness.run_until(harness.finished(dag_id, run.run_id))
    return run.run_id


def test_clearing_a_marker_clears_the_waiting_task_and_its_downstream_in_the_other_dag(
    cross: Harness,
) -> None:
    _dags(cross)
    parent, child = _run(cross, "parent"), _run(cross, "child")
    assert cross.run_state("child", child) == "success"

    planned = to_clear(
        cross.store, "parent", parent, ["load"], downstream=True, include_dependent_dags=True
    )
    assert [(ti.dag_id, ti.task_id) for ti in planned] == [
        ("parent", "load"),
        ("parent", "mark"),
        ("child", "wait"),
        ("child", "train"),
    ]
    keys = clear_task_instances(
        cross.store,
        "parent",
        parent,
        ["load"],
        downstream=True,
        include_dependent_dags=True,
        now=cross.clock.now(),
    )
    assert [(k.dag_id, k.run_id, k.task_id) for k in keys] == [
        ("parent", parent, "load"),
        ("parent", parent, "mark"),
        ("child", child, "wait"),
        ("child", child, "train"),
    ]
    assert cross.states("child", child) == {"unrelated": "success", "wait": "none", "train": "none"}
    assert cross.run_state("child", child) == "queued"
    events = [(e.kind, e.dag_id, e.detail) for e in cross.store.list_events() if e.kind == "clear"]
    assert ("clear", "child", "cleared wait, train (downstream)") in events

    # The child's sensor runs once the parent is done again (it succeeds at its first poke).
    set_paused(cross.store, "child", True)
    cross.run_until(cross.finished("parent", parent))
    set_paused(cross.store, "child", False)
    cross.run_until(cross.finished("child", child))
    assert [a.try_number for a in cross.attempts("child", child, "wait")] == [1, 2]
    assert cross.run_state("child", child) == "success"


def test_without_dependent_dags_the_other_dag_is_left_alone(cross: Harness) -> None:
    _dags(cross)
    parent, child = _run(cross, "parent"), _run(cross, "child")
    clear_task_instances(cross.store, "parent", parent, ["mark"], now=cross.clock.now())
    assert cross.run_state("child", child) == "success"
    assert cross.states("child", child)["wait"] == "success"


def test_a_marker_deeper_than_the_recursion_depth_clears_nothing(cross: Harness) -> None:
    _dags(cross, depth=1, grandchild=True)
    parent, child = _run(cross, "parent"), _run(cross, "child")
    with pytest.raises(InvalidRequestError, match="maximum recursion depth 1 reached"):
        clear_task_instances(
            cross.store,
            "parent",
            parent,
            ["mark"],
            include_dependent_dags=True,
            now=cross.clock.now(),
        )
    assert cross.run_state("parent", parent) == "success"
    assert cross.run_state("child", child) == "success"


def test_headwater_tasks_clear_follows_markers(
    cross: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not cross.url.startswith("sqlite") or "unused" in cross.url:
        pytest.skip("the command line reads the database of the settings")
    _dags(cross)
    parent, child = _run(cross, "parent"), _run(cross, "child")
    result = CliRunner().invoke(cli, ["tasks", "clear", "parent", parent, "mark", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"mark, child/{child}:wait, child/{child}:train" in " ".join(result.output.split())
    assert cross.states("child", child)["train"] == "none"


def test_a_marker_that_never_ran_is_rendered_from_the_stored_dag(cross: Harness) -> None:
    """Its upstream failed, so no attempt rendered it: its stored template is rendered now."""
    cross.write_dag(
        "parent",
        """
        from headwater.sensors import ExternalTaskMarker

        def boom():
            raise ValueError("no data")

        with DAG("parent", start_date=START, schedule=None):
            PythonOperator(task_id="load", python_callable=boom) >> ExternalTaskMarker(
                task_id="mark", external_dag_id="child", external_task_id="wait",
                logical_date="{{ (logical_date - macros.timedelta(days=1)).isoformat() }}")
        """,
    )
    cross.write_dag(
        "child",
        """
        with DAG("child", start_date=START, schedule=None):
            EmptyOperator(task_id="wait") >> EmptyOperator(task_id="train")
        """,
    )
    cross.process()
    parent = _run(cross, "parent")
    assert cross.states("parent", parent) == {"load": "failed", "mark": "upstream_failed"}
    child_run = trigger_run(
        cross.store,
        "child",
        logical_date=DAY - timedelta(days=1),
        run_id="child_day_before",
        now=cross.clock.now(),
    )
    cross.run_until(cross.finished("child", child_run.run_id))
    _run(cross, "child")  # at DAY: not the marker's date, left alone

    keys = clear_task_instances(
        cross.store,
        "parent",
        parent,
        ["load"],
        downstream=True,
        include_dependent_dags=True,
        now=cross.clock.now(),
    )
    assert [(k.run_id, k.task_id) for k in keys] == [
        (parent, "load"),
        (parent, "mark"),
        ("child_day_before", "wait"),
        ("child_day_before", "train"),
    ]


def test_markers_that_form_a_cycle_clear_each_instance_once(cross: Harness) -> None:
    cross.write_dag(
        "ping",
        """
        from headwater.sensors import ExternalTaskMarker

        with DAG("ping", start_date=START, schedule=None):
            EmptyOperator(task_id="load") >> ExternalTaskMarker(
                task_id="mark", external_dag_id="pong", external_task_id="start")
        """,
    )
    cross.write_dag(
        "pong",
        """
        from headwater.sensors import ExternalTaskMarker

        with DAG("pong", start_date=START, schedule=None):
            EmptyOperator(task_id="start") >> ExternalTaskMarker(
                task_id="mark", external_dag_id="ping", external_task_id="load")
        """,
    )
    cross.process()
    ping, pong = _run(cross, "ping"), _run(cross, "pong")
    keys = clear_task_instances(
        cross.store,
        "ping",
        ping,
        ["load"],
        downstream=True,
        include_dependent_dags=True,
        now=cross.clock.now(),
    )
    assert [(k.dag_id, k.task_id) for k in keys] == [
        ("ping", "load"),
        ("ping", "mark"),
        ("pong", "start"),
        ("pong", "mark"),
    ]
    assert cross.run_state("ping", ping) == cross.run_state("pong", pong) == "queued"


def test_a_marker_whose_date_cannot_be_rendered_refuses_the_clear_naming_it(
    cross: Harness,
) -> None:
    cross.write_dag(
        "parent",
        """
        from headwater.sensors import ExternalTaskMarker

        def boom():
            raise ValueError("no data")

        with DAG("parent", start_date=START, schedule=None):
            PythonOperator(task_id="load", python_callable=boom) >> ExternalTaskMarker(
                task_id="mark", external_dag_id="child", external_task_id="wait",
                logical_date="{{ ds }}")
        """,
    )
    cross.process()
    parent = _run(cross, "parent")
    with pytest.raises(InvalidRequestError, match="ExternalTaskMarker 'mark' of DAG 'parent'"):
        clear_task_instances(
            cross.store,
            "parent",
            parent,
            ["load"],
            downstream=True,
            include_dependent_dags=True,
            now=cross.clock.now(),
        )
    assert cross.states("parent", parent) == {"load": "failed", "mark": "upstream_failed"}
