"""Clearing and marking task instances through the engine (engine/manual_changes.py), on the
memory store, driven on to the run's end as the scheduler would after it reloads the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, task
from headwater.clock import FakeClock
from headwater.dag_test import InProcessRun
from headwater.engine import manual_changes
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.driver import drive_run
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import DagRunState
from headwater.engine.transitions import TaskInstanceState as S
from headwater.exceptions import HeadwaterError, IllegalTransitionError
from headwater.executors.in_process import InProcessExecutor
from headwater.operators import EmptyOperator, PythonOperator
from headwater.settings import Settings

R = DagRunState
START = datetime(2024, 1, 1, tzinfo=UTC)


def _fail() -> None:
    raise RuntimeError("planned failure")


def _chain(first_fails: bool = False) -> DAG:
    """a >> b >> c; ``a`` fails (no retries) when ``first_fails``."""
    with DAG("chain", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=_fail if first_fails else (lambda: 1))
        a >> EmptyOperator(task_id="b") >> EmptyOperator(task_id="c")
    return dag


def _local(dag: DAG, settings: Settings, clock: FakeClock) -> InProcessRun:
    return InProcessRun(dag, new_dag_run(dag, logical_date=START), settings=settings, clock=clock)


def _drive(local: InProcessRun, clock: FakeClock) -> R:
    return drive_run(local.engine, InProcessExecutor(local.run_attempt), clock)


def _states(local: InProcessRun) -> dict[str, str]:
    return {ti.key.label: ti.state.value for ti in local.engine.task_instances()}


def _attempts(local: InProcessRun, task_id: str) -> list[int]:
    run_id = local.engine.run.run_id
    return [a.try_number for a in local.store.get_attempts("chain", run_id, task_id)]


def test_a_task_marked_success_before_it_runs_never_runs_and_its_downstream_proceeds(
    settings: Settings, clock: FakeClock
) -> None:
    local = _local(_chain(first_fails=True), settings, clock)
    changed = manual_changes.mark(local.engine, [("a", -1)], S.SUCCESS, clock.now())
    assert [ti.key.label for ti in changed] == ["a"]
    assert local.engine.run.state is R.QUEUED
    assert _drive(local, clock) is R.SUCCESS
    assert _states(local) == {"a": "success", "b": "success", "c": "success"}
    assert _attempts(local, "a") == []  # never ran: it would have failed
    assert _attempts(local, "b") == [1]


def test_a_task_marked_failed_fails_its_downstream(settings: Settings, clock: FakeClock) -> None:
    local = _local(_chain(), settings, clock)
    manual_changes.mark(local.engine, [("a", -1)], S.FAILED, clock.now())
    assert local.engine.get_ti("a").error == "marked failed"
    assert _drive(local, clock) is R.FAILED
    assert _states(local) == {"a": "failed", "b": "upstream_failed", "c": "upstream_failed"}


def test_marking_the_failed_leaf_of_a_finished_run_recomputes_its_state(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("chain", start_date=START) as dag:
        EmptyOperator(task_id="a") >> PythonOperator(task_id="b", python_callable=_fail)
    local = _local(dag, settings, clock)
    assert _drive(local, clock) is R.FAILED
    clock.advance(timedelta(minutes=1))
    stored = DagRunEngine.load_as_stored(
        dag, local.store, local.xcoms, "chain", local.engine.run.run_id
    )
    manual_changes.mark(stored, [("b", -1)], S.SUCCESS, clock.now())
    run = local.store.get_dag_run("chain", local.engine.run.run_id)
    assert run is not None
    assert (run.state, run.end_date) == (R.SUCCESS, clock.now())
    # Marked back failed, it fails again; marking what is already so changes nothing.
    assert manual_changes.mark(stored, [("b", -1)], S.SUCCESS, clock.now()) == []
    manual_changes.mark(stored, [("b", -1)], S.FAILED, clock.now())
    assert local.store.get_dag_run("chain", run.run_id).state is R.FAILED  # type: ignore[union-attr]


def test_a_running_instance_is_refused_and_nothing_changes(
    settings: Settings, clock: FakeClock
) -> None:
    local = _local(_chain(), settings, clock)
    engine = local.engine
    engine.start(clock.now())
    [a] = engine.schedule(clock.now())
    engine.mark_queued([a])
    engine.start_attempt("a", -1, clock.now())
    for change in (
        lambda: manual_changes.mark(engine, [("b", -1), ("a", -1)], S.SUCCESS, clock.now()),
        lambda: manual_changes.clear(engine, [("b", -1), ("a", -1)], clock.now()),
    ):
        with pytest.raises(IllegalTransitionError, match=r"'a' .*: running -> \w+ by rule"):
            change()
    stored = {ti.task_id: ti.state for ti in local.store.get_task_instances("chain", a.run_id)}
    assert stored == {"a": S.RUNNING, "b": S.NONE, "c": S.NONE}
    assert engine.run.state is R.RUNNING


def test_only_success_or_failed_can_be_marked(settings: Settings, clock: FakeClock) -> None:
    local = _local(_chain(), settings, clock)
    with pytest.raises(HeadwaterError, match="marked success or failed, not skipped"):
        manual_changes.mark(local.engine, [("a", -1)], S.SKIPPED, clock.now())
    with pytest.raises(HeadwaterError, match="has no task instance 'z' at map index -1"):
        manual_changes.mark(local.engine, [("z", -1)], S.SUCCESS, clock.now())


def test_a_cleared_task_runs_again_with_its_retries_and_without_its_xcoms(
    settings: Settings, clock: FakeClock
) -> None:
    local = _local(_chain(), settings, clock)
    assert _drive(local, clock) is R.SUCCESS
    run_id = local.engine.run.run_id
    a = local.engine.get_ti("a")
    assert local.store.get_xcom(a.key, "return_value") is not None

    waiting = manual_changes.clear(local.engine, [("a", -1), ("b", -1)], clock.now())

    assert [ti.key.label for ti in waiting] == ["a", "b"]
    assert _states(local) == {"a": "none", "b": "none", "c": "success"}
    assert (a.try_number, a.max_tries, a.end_date) == (1, 2, None)
    assert local.store.get_xcom(a.key, "return_value") is None
    run = local.store.get_dag_run("chain", run_id)
    assert run is not None
    assert (run.state, run.start_date, run.end_date) == (R.QUEUED, None, None)
    assert _drive(local, clock) is R.SUCCESS
    assert _attempts(local, "a") == [1, 2]
    assert _attempts(local, "c") == [1]  # not cleared: not run again


def test_clearing_every_instance_of_a_mapped_task_expands_it_again(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("chain", start_date=START) as dag:

        @task
        def double(x: int) -> int:
            return 2 * x

        double.expand(x=[1, 2, 3])
    local = _local(dag, settings, clock)
    assert _drive(local, clock) is R.SUCCESS
    [placeholder] = manual_changes.clear(
        local.engine, [("double", i) for i in range(3)], clock.now()
    )
    assert (placeholder.map_index, placeholder.try_number, placeholder.state) == (-1, 1, S.NONE)
    stored = local.store.get_task_instances("chain", local.engine.run.run_id)
    assert [(ti.map_index, ti.state) for ti in stored] == [(-1, S.NONE)]
    assert _drive(local, clock) is R.SUCCESS
    # Each instance goes on from its own last try: no attempt is overwritten.
    assert sorted(_attempts(local, "double")) == [1, 1, 1, 2, 2, 2]
