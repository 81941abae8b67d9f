"""A DAG changed while a run is under way: the run follows the new structure (Airflow's
``DagRun.verify_integrity``). New tasks get instances and run, instances of tasks that left
the DAG end ``removed`` and do not decide the run's state, a task that comes back runs again,
and a finished run is never changed."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from scheduler_harness import Harness

from headwater import DAG, task
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptOutcome, DagRun
from headwater.engine.states import DagRunState
from headwater.engine.states import TaskInstanceState as S
from headwater.engine.xcoms import XComs
from headwater.operators import EmptyOperator
from headwater.store.base import MetadataStore
from headwater.xcom_serializers import load_serializer

# -- through the scheduler -------------------------------------------------------------------


def rewrite(harness: Harness, name: str, body: str) -> None:
    """Write the DAG file again and store the new version (as the DAG processor would)."""
    path = harness.folder / f"{name}.py"
    before = path.stat().st_mtime
    harness.write_dag(name, body)
    os.utime(path, (before + 10, before + 10))  # a new mtime, however coarse the file system
    harness.process()


def test_a_task_added_downstream_runs_in_the_running_run(harness: Harness) -> None:
    harness.write_dag(
        "grows",
        """
        with DAG("grows", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    harness.process()
    run = harness.trigger("grows")
    harness.scheduler.tick()  # the run starts and "a" is queued
    assert harness.states("grows", run.run_id) == {"a": "queued", "b": "none"}

    rewrite(
        harness,
        "grows",
        """
        with DAG("grows", start_date=START):
            a, b, c = (EmptyOperator(task_id=t) for t in "abc")
            a >> b >> c
        """,
    )
    harness.run_until(harness.finished("grows", run.run_id))

    assert harness.states("grows", run.run_id) == {"a": "success", "b": "success", "c": "success"}
    assert harness.run_state("grows", run.run_id) == "success"
    assert [a.try_number for a in harness.attempts("grows", run.run_id, "c")] == [1]


def test_a_removed_task_pending_instance_becomes_removed_and_the_run_succeeds(
    harness: Harness,
) -> None:
    harness.write_dag(
        "shrinks",
        """
        with DAG("shrinks", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="after")
        """,
    )
    harness.process()
    run = harness.trigger("shrinks")
    harness.scheduler.tick()
    assert harness.states("shrinks", run.run_id) == {"a": "queued", "after": "none"}

    rewrite(
        harness,
        "shrinks",
        """
        with DAG("shrinks", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.run_until(harness.finished("shrinks", run.run_id))

    assert harness.states("shrinks", run.run_id) == {"a": "success", "after": "removed"}
    assert harness.run_state("shrinks", run.run_id) == "success"
    assert harness.attempts("shrinks", run.run_id, "after") == []
    after = harness.tis("shrinks", run.run_id)["after"]
    assert "no longer in the DAG" in (after.error or "")


def test_a_renamed_task_removes_the_old_instance_and_runs_the_new_one(harness: Harness) -> None:
    harness.write_dag(
        "renamed",
        """
        with DAG("renamed", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="after")
        """,
    )
    harness.process()
    run = harness.trigger("renamed")
    harness.scheduler.tick()

    rewrite(
        harness,
        "renamed",
        """
        with DAG("renamed", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="after2")
        """,
    )
    harness.run_until(harness.finished("renamed", run.run_id))

    assert harness.states("renamed", run.run_id) == {
        "a": "success",
        "after": "removed",
        "after2": "success",
    }
    assert harness.run_state("renamed", run.run_id) == "success"
    assert harness.attempts("renamed", run.run_id, "after") == []


def test_a_queued_instance_of_a_removed_task_never_runs(harness: Harness) -> None:
    harness.write_dag(
        "dropped",
        """
        with DAG("dropped", start_date=START):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="b")
        """,
    )
    harness.process()
    run = harness.trigger("dropped")
    harness.scheduler.tick()  # both are handed to the executor
    assert harness.states("dropped", run.run_id) == {"a": "queued", "b": "queued"}

    rewrite(
        harness,
        "dropped",
        """
        with DAG("dropped", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.run_until(harness.finished("dropped", run.run_id))

    assert harness.states("dropped", run.run_id) == {"a": "success", "b": "removed"}
    assert harness.run_state("dropped", run.run_id) == "success"
    assert harness.attempts("dropped", run.run_id, "b") == []


def test_a_removed_leaf_that_failed_does_not_fail_the_run(harness: Harness) -> None:
    harness.write_dag(
        "cleanup",
        """
        def boom():
            raise RuntimeError("boom")

        with DAG("cleanup", start_date=START):
            PythonOperator(task_id="boom", python_callable=boom)
            EmptyOperator(task_id="held", pool="gate")  # waits: the pool does not exist yet
        """,
    )
    harness.process()
    run = harness.trigger("cleanup")
    harness.step()
    assert harness.states("cleanup", run.run_id) == {"boom": "failed", "held": "scheduled"}

    rewrite(
        harness,
        "cleanup",
        """
        with DAG("cleanup", start_date=START):
            EmptyOperator(task_id="held", pool="gate")
        """,
    )
    harness.step()
    assert harness.states("cleanup", run.run_id) == {"boom": "removed", "held": "scheduled"}
    harness.store.set_pool("gate", 1)
    harness.run_until(harness.finished("cleanup", run.run_id))
    assert harness.run_state("cleanup", run.run_id) == "success"
    assert [a.state.value for a in harness.attempts("cleanup", run.run_id, "boom")] == ["failed"]


def test_a_task_added_upstream_of_a_finished_one_does_not_rerun_it(harness: Harness) -> None:
    harness.write_dag(
        "upstream",
        """
        with DAG("upstream", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
            EmptyOperator(task_id="held", pool="gate")  # keeps the run going
        """,
    )
    harness.process()
    run = harness.trigger("upstream")
    harness.run_until(lambda: harness.states("upstream", run.run_id)["b"] == "success")

    rewrite(
        harness,
        "upstream",
        """
        with DAG("upstream", start_date=START):
            a, b, new, x = (EmptyOperator(task_id=t) for t in ("a", "b", "new", "x"))
            new >> b
            a >> [b, x]
            EmptyOperator(task_id="held", pool="gate")
        """,
    )
    harness.step()
    harness.step()
    states = harness.states("upstream", run.run_id)
    assert states == {
        "a": "success",
        "b": "success",
        "new": "success",  # no upstream: it runs
        "x": "success",  # its upstream "a" is done
        "held": "scheduled",
    }
    harness.store.set_pool("gate", 1)
    harness.run_until(harness.finished("upstream", run.run_id))
    assert harness.run_state("upstream", run.run_id) == "success"
    for task_id in ("a", "b"):
        assert [a.try_number for a in harness.attempts("upstream", run.run_id, task_id)] == [1]


def test_a_task_that_comes_back_runs_again(harness: Harness) -> None:
    body = """
        with DAG("back", start_date=START):
            EmptyOperator(task_id="a", pool="gate") >> EmptyOperator(task_id="after")
        """
    harness.write_dag("back", body)
    harness.process()
    run = harness.trigger("back")
    harness.step()
    assert harness.states("back", run.run_id) == {"a": "scheduled", "after": "none"}

    rewrite(
        harness,
        "back",
        """
        with DAG("back", start_date=START):
            EmptyOperator(task_id="a", pool="gate")
        """,
    )
    harness.step()
    assert harness.states("back", run.run_id) == {"a": "scheduled", "after": "removed"}

    rewrite(harness, "back", body)
    harness.step()
    assert harness.states("back", run.run_id) == {"a": "scheduled", "after": "none"}
    harness.store.set_pool("gate", 1)
    harness.run_until(harness.finished("back", run.run_id))
    assert harness.states("back", run.run_id) == {"a": "success", "after": "success"}
    assert harness.run_state("back", run.run_id) == "success"


def test_an_added_mapped_task_expands_and_runs(harness: Harness) -> None:
    harness.write_dag(
        "mapped",
        """
        with DAG("mapped", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    run = harness.trigger("mapped")
    harness.scheduler.tick()

    rewrite(
        harness,
        "mapped",
        """
        with DAG("mapped", start_date=START):
            @task
            def double(x):
                return 2 * x

            EmptyOperator(task_id="a") >> double.expand(x=[1, 2, 3])
        """,
    )
    harness.run_until(harness.finished("mapped", run.run_id))
    assert harness.states("mapped", run.run_id) == {
        "a": "success",
        "double[0]": "success",
        "double[1]": "success",
        "double[2]": "success",
    }
    assert harness.run_state("mapped", run.run_id) == "success"


def test_a_finished_run_is_not_changed_by_a_new_dag_version(harness: Harness) -> None:
    harness.write_dag(
        "done",
        """
        with DAG("done", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    run = harness.trigger("done")
    harness.run_until(harness.finished("done", run.run_id))
    rewrite(
        harness,
        "done",
        """
        with DAG("done", start_date=START):
            EmptyOperator(task_id="b")
        """,
    )
    harness.step()
    assert harness.states("done", run.run_id) == {"a": "success"}
    assert harness.run_state("done", run.run_id) == "success"


# -- the engine on its own, over every store -------------------------------------------------

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 1, 1, 1, tzinfo=UTC)


def make_dag(*task_ids: str, mapped: str | None = None) -> DAG:
    """A chain of empty tasks, then ``mapped`` (if given) mapped over three items."""
    with DAG("changing", start_date=START) as dag:
        previous = None
        for task_id in task_ids:
            op = EmptyOperator(task_id=task_id)
            if previous is not None:
                previous >> op
            previous = op
        if mapped is not None:

            @task(task_id=mapped)
            def each(x: int) -> int:
                return x

            each.expand(x=[1, 2, 3])
    return dag


@pytest.fixture
def xcoms(any_store: MetadataStore) -> XComs:
    return XComs(any_store, load_serializer(None), 1_000_000)


def new_run(store: MetadataStore, xcoms: XComs, dag: DAG) -> DagRunEngine:
    run = DagRun("changing", "r1", START, START, START)
    engine = DagRunEngine.create(dag, store, xcoms, run)
    engine.start(START)
    return engine


def stored(store: MetadataStore) -> dict[str, str]:
    return {ti.key.label: ti.state.value for ti in store.get_task_instances("changing", "r1")}


@pytest.fixture
def engine(any_store: MetadataStore, xcoms: XComs) -> DagRunEngine:
    return new_run(any_store, xcoms, make_dag("a", "b"))


def test_load_creates_removes_and_restores(
    any_store: MetadataStore, xcoms: XComs, engine: DagRunEngine
) -> None:
    # Remove "b", add "c": stored at once.
    reloaded = DagRunEngine.load(make_dag("a", "c"), any_store, xcoms, "changing", "r1", now=NOW)
    assert stored(any_store) == {"a": "none", "b": "removed", "c": "none"}
    assert {ti.task_id for ti in reloaded.task_instances()} == {"a", "c"}
    assert reloaded.get_ti("b").state is S.REMOVED  # still reachable, not driven
    assert [ti.task_id for ti in reloaded.removed_instances()] == ["b"]
    # "b" comes back.
    reloaded = DagRunEngine.load(make_dag("a", "b"), any_store, xcoms, "changing", "r1", now=NOW)
    assert stored(any_store) == {"a": "none", "b": "none", "c": "removed"}
    assert reloaded.get_ti("b").error is None
    # The run goes on with "a" then "b", and ends success despite the removed "c".
    for task_id in ("a", "b"):
        (ti,) = reloaded.schedule(NOW)
        assert ti.task_id == task_id
        reloaded.mark_queued([ti])
        reloaded.start_attempt(task_id, -1, NOW)
        reloaded.finish_attempt(task_id, -1, AttemptOutcome(S.SUCCESS), NOW)
    assert reloaded.schedule(NOW) == []
    assert reloaded.is_finished
    assert reloaded.finalize(NOW) is DagRunState.SUCCESS


def test_an_unchanged_dag_changes_nothing(
    any_store: MetadataStore, xcoms: XComs, engine: DagRunEngine
) -> None:
    before = {ti.key: ti for ti in any_store.get_task_instances("changing", "r1")}
    DagRunEngine.load(make_dag("a", "b"), any_store, xcoms, "changing", "r1", now=NOW)
    assert {ti.key: ti for ti in any_store.get_task_instances("changing", "r1")} == before


def test_a_running_attempt_of_a_removed_task_ends_removed(
    any_store: MetadataStore, xcoms: XComs, engine: DagRunEngine
) -> None:
    (a,) = engine.schedule(START)
    engine.mark_queued([a])
    engine.start_attempt("a", -1, START)
    reloaded = DagRunEngine.load(make_dag("b"), any_store, xcoms, "changing", "r1", now=NOW)
    ti = reloaded.get_ti("a")
    assert (ti.state, ti.end_date) == (S.REMOVED, NOW)
    (attempt,) = any_store.get_attempts("changing", "r1", "a")
    assert (attempt.state, attempt.end_date) == (S.REMOVED, NOW)
    assert "no longer in the DAG" in (attempt.error or "")
    # "b" lost its only upstream: it runs.
    assert [t.task_id for t in reloaded.schedule(NOW)] == ["b"]


def test_mapping_changes(any_store: MetadataStore, xcoms: XComs) -> None:
    engine = new_run(any_store, xcoms, make_dag("a", mapped="m"))
    assert stored(any_store) == {"a": "none", "m": "none"}
    for ti in engine.schedule(START):  # "a" and the expansion of "m" (no upstream)
        engine.mark_queued([ti])
        engine.start_attempt(ti.task_id, ti.map_index, START)
        engine.finish_attempt(ti.task_id, ti.map_index, AttemptOutcome(S.SUCCESS), START)
    assert stored(any_store) == {"a": "success", "m[0]": "success", "m[1]": "success"} | {
        "m[2]": "success"
    }
    # "m" is no longer mapped: its map indexes end removed, and it gets one instance.
    with DAG("changing", start_date=START) as unmapped:
        EmptyOperator(task_id="a")
        EmptyOperator(task_id="m")
    DagRunEngine.load(unmapped, any_store, xcoms, "changing", "r1", now=NOW)
    assert stored(any_store) == {
        "a": "success",
        "m": "none",
        "m[0]": "removed",
        "m[1]": "removed",
        "m[2]": "removed",
    }


def test_a_finished_run_is_never_changed(
    any_store: MetadataStore, xcoms: XComs, engine: DagRunEngine
) -> None:
    engine.finalize(START)  # ended (as if marked from the CLI)
    before = stored(any_store)
    reloaded = DagRunEngine.load(make_dag("x"), any_store, xcoms, "changing", "r1", now=NOW)
    assert stored(any_store) == before
    assert reloaded.get_ti("a").state is S.NONE
