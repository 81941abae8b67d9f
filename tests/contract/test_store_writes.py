"""Compare-and-set task-instance writes and units of work, on every store (memory, SQLite,
PostgreSQL): a refused write changes nothing and says which instance, what the writer
expected and what is stored; a unit of work is committed whole or not at all."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from db_records import T0, make_attempt, make_run, make_ti
from headwater.db.rows import DagRow
from headwater.engine.records import TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import HeadwaterError, StaleWriteError
from headwater.store.ports import Store

S = TaskInstanceState


def _stored(store: Store) -> dict[str, tuple[str, int]]:
    return {t.task_id: (t.state.value, t.try_number) for t in store.get_task_instances("etl", "r1")}


def _queued(ti: TaskInstance) -> TaskInstance:
    return make_ti(ti.task_id, make_run(), ti.map_index, state=S.QUEUED, try_number=ti.try_number)


def test_a_write_that_matches_what_the_writer_saw_is_applied(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.SCHEDULED)
    any_store.create_dag_run(run, [a])
    new = make_ti("new", run, state=S.NONE)
    any_store.save_task_instances([_queued(a), new], expected={a.key: (S.SCHEDULED, 0)})
    assert _stored(any_store) == {"a": ("queued", 0), "new": ("none", 0)}


def test_a_stale_write_is_refused_whole_and_logged(
    any_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    run = make_run()
    a, b = make_ti("a", run, state=S.SCHEDULED), make_ti("b", run, state=S.SCHEDULED)
    any_store.create_dag_run(run, [a, b])
    # b was retried by another writer since this one read it: try 1, not 0.
    any_store.save_task_instances([make_ti("b", run, state=S.SCHEDULED, try_number=1)])
    expected = {a.key: (S.SCHEDULED, 0), b.key: (S.SCHEDULED, 0)}
    with caplog.at_level(logging.WARNING), pytest.raises(StaleWriteError) as refused:
        any_store.save_task_instances([_queued(a), _queued(b)], expected=expected)
    assert str(refused.value) == (
        "task instance etl/r1/b: expected state 'scheduled' at try 0, "
        "stored state 'scheduled' at try 1 (another writer changed it)"
    )
    assert (refused.value.expected, refused.value.stored) == (("scheduled", 0), ("scheduled", 1))
    assert isinstance(refused.value, HeadwaterError)
    assert _stored(any_store) == {"a": ("scheduled", 0), "b": ("scheduled", 1)}
    assert "refused a stale write: task instance etl/r1/b" in caplog.text


def test_an_insert_of_an_instance_that_exists_is_refused(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.RUNNING, try_number=1)
    any_store.create_dag_run(run, [a])
    mapped = make_ti("m", run, 0)
    with pytest.raises(StaleWriteError, match=r"etl/r1/a: expected no row, stored state 'running'"):
        any_store.save_task_instances([mapped, make_ti("a", run)], expected={})
    assert _stored(any_store) == {"a": ("running", 1)}


def test_an_update_of_an_instance_that_is_gone_is_refused(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [])
    ghost = make_ti("ghost", run, 2, state=S.QUEUED)
    with pytest.raises(StaleWriteError, match=r"etl/r1/ghost\[2\]: expected .* stored no row"):
        any_store.save_task_instances([ghost], expected={ghost.key: (S.SCHEDULED, 0)})
    assert any_store.get_task_instances("etl", "r1") == []


def test_two_writers_of_one_instance_the_second_is_refused(
    any_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.SCHEDULED)
    any_store.create_dag_run(run, [a])
    (seen_by_one,) = any_store.get_task_instances("etl", "r1")
    (seen_by_two,) = any_store.get_task_instances("etl", "r1")
    version = (seen_by_one.state, seen_by_one.try_number)
    any_store.save_task_instances([_queued(seen_by_one)], expected={a.key: version})
    seen_by_two.state = S.REMOVED
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(StaleWriteError, match="stored state 'queued'"),
    ):
        any_store.save_task_instances([seen_by_two], expected={a.key: version})
    assert _stored(any_store) == {"a": ("queued", 0)}
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_a_stale_write_with_an_attempt_writes_neither(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.QUEUED)
    any_store.create_dag_run(run, [a])
    running = make_ti("a", run, state=S.RUNNING, try_number=1)
    with pytest.raises(StaleWriteError):
        any_store.save_attempt_with_task_instances(
            make_attempt(running), [running], expected={a.key: (S.SCHEDULED, 0)}
        )
    assert any_store.get_attempts("etl", "r1") == []
    any_store.save_attempt_with_task_instances(
        make_attempt(running), [running], expected={a.key: (S.QUEUED, 0)}
    )
    assert _stored(any_store) == {"a": ("running", 1)}
    assert len(any_store.get_attempts("etl", "r1")) == 1


def test_without_expected_a_write_is_an_upsert(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.SCHEDULED)
    any_store.create_dag_run(run, [a])
    any_store.save_task_instances([_queued(a), make_ti("b", run)])
    assert _stored(any_store) == {"a": ("queued", 0), "b": ("none", 0)}


# -- units of work -------------------------------------------------------------------------------


def test_a_unit_of_work_commits_everything_at_its_end(any_store: Store) -> None:
    run = make_run()
    with any_store.unit_of_work() as uow:
        uow.create_dag_run(run, [make_ti("a", run)])
        uow.upsert_dag(DagRow("etl"))
        uow.set_pool("db", 3)
        uow.record_event("trigger", at=T0, dag_id="etl", run_id="r1")
        # Reads inside see the unit's own writes.
        assert uow.get_dag_run("etl", "r1") == run
        assert [t.task_id for t in uow.get_task_instances("etl", "r1")] == ["a"]
    assert any_store.get_dag_run("etl", "r1") == run
    assert any_store.get_dag("etl") is not None
    assert any_store.get_pool("db") is not None
    assert [e.kind for e in any_store.list_events()] == ["trigger"]


def test_a_failure_inside_a_unit_of_work_rolls_everything_back(any_store: Store) -> None:
    run = make_run(state=DagRunState.RUNNING)
    any_store.create_dag_run(run, [make_ti("a", run)])
    any_store.set_variable("v", "before")
    with pytest.raises(RuntimeError, match="boom"), any_store.unit_of_work() as uow:
        run.state = DagRunState.QUEUED
        uow.save_dag_run(run)
        uow.save_task_instances([make_ti("a", run, state=S.SCHEDULED), make_ti("b", run)])
        uow.set_variable("v", "after")
        uow.create_dag_run(make_run(run_id="r2"), [])
        uow.record_event("clear", at=T0, dag_id="etl", run_id="r1")
        uow.start_job("scheduler", "h", 1, T0)
        raise RuntimeError("boom")
    stored = any_store.get_dag_run("etl", "r1")
    assert stored is not None and stored.state is DagRunState.RUNNING
    assert _stored(any_store) == {"a": ("none", 0)}
    assert any_store.get_variable("v") == "before"
    assert any_store.get_dag_run("etl", "r2") is None
    assert any_store.list_events() == []
    assert any_store.list_jobs() == []


def test_a_stale_write_rolls_its_whole_unit_of_work_back(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run, state=S.SCHEDULED, try_number=1)
    any_store.create_dag_run(run, [a])
    with pytest.raises(StaleWriteError), any_store.unit_of_work() as uow:
        uow.record_event("clear", at=T0, dag_id="etl", run_id="r1")
        uow.set_xcom(a.key, "return_value", "1")
        uow.save_task_instances([_queued(a)], expected={a.key: (S.SCHEDULED, 0)})
    assert any_store.list_events() == []
    assert any_store.get_xcom(a.key, "return_value") is None
    assert _stored(any_store) == {"a": ("scheduled", 1)}


def test_a_refused_run_creation_rolls_its_unit_of_work_back(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [])
    with pytest.raises(ValueError, match="already has a run 'r1'"), any_store.unit_of_work() as uow:
        uow.set_pool("db", 2)
        uow.create_dag_run(make_run(), [])
    assert any_store.get_pool("db") is None
    assert any_store.list_dag_runs("etl", limit=None) == [run]


def test_units_of_work_one_after_another(any_store: Store) -> None:
    for n in range(3):
        with any_store.unit_of_work() as uow:
            uow.set_variable("n", str(n))
            uow.heartbeat_attempts([], T0 + timedelta(seconds=n))
    assert any_store.get_variable("n") == "2"


def test_a_refused_run_creation_can_be_caught_and_the_unit_goes_on(any_store: Store) -> None:
    any_store.create_dag_run(make_run(), [])
    with any_store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="already has a run 'r1'"):
            uow.create_dag_run(make_run(), [])
        uow.create_dag_run(make_run(run_id="r2", day=1), [])
    assert [r.run_id for r in any_store.list_dag_runs("etl")] == ["r1", "r2"]


def test_a_unit_of_work_inside_one_joins_it(any_store: Store) -> None:
    with pytest.raises(RuntimeError, match="outer"), any_store.unit_of_work() as outer:
        with outer.unit_of_work() as inner:
            inner.set_variable("inner", "1")
        assert outer.get_variable("inner") == "1"
        raise RuntimeError("outer")
    assert any_store.get_variable("inner") is None
