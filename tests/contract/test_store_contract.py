"""The engine's port (runs, task instances, attempts, XComs) and variables and connections:
MemoryStore and SqlStore (SQLite, PostgreSQL) behave alike. The other ports are in
``test_store_ports.py``, compare-and-set writes and units of work in ``test_store_writes.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db_records import T0, make_attempt, make_run, make_ti
from headwater.clock import FakeClock
from headwater.engine.records import TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.base import Connection
from headwater.store.ports import Store

S = TaskInstanceState


def _by_key(store: Store, dag_id: str = "etl", run_id: str = "r1") -> dict:
    return {(t.task_id, t.map_index): t for t in store.get_task_instances(dag_id, run_id)}


def test_create_and_get_a_run_with_its_task_instances(any_store: Store) -> None:
    run = make_run(conf={"region": "us"}, params={"n": 3})
    any_store.create_dag_run(run, [make_ti("a", run, max_tries=2), make_ti("b", run)])
    assert any_store.get_dag_run("etl", "r1") == run
    assert any_store.get_dag_run("etl", "nope") is None
    tis = _by_key(any_store)
    assert set(tis) == {("a", -1), ("b", -1)}
    assert tis[("a", -1)] == make_ti("a", run, max_tries=2)
    assert tis[("a", -1)].state is S.NONE


def test_creating_a_run_twice_is_refused(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [make_ti("a", run)])
    with pytest.raises(ValueError, match="DAG 'etl' already has a run 'r1'"):
        any_store.create_dag_run(make_run(), [make_ti("b", run)])
    assert set(_by_key(any_store)) == {("a", -1)}


def test_save_dag_run_updates_every_field(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [])
    run.state = DagRunState.SUCCESS
    run.start_date = T0 + timedelta(minutes=1)
    run.end_date = T0 + timedelta(minutes=2)
    run.note = "done"
    run.conf = {"changed": True}
    any_store.save_dag_run(run)
    stored = any_store.get_dag_run("etl", "r1")
    assert stored == run
    assert stored is not None and stored.state is DagRunState.SUCCESS


def test_returned_records_are_copies(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [make_ti("a", run)])
    got = any_store.get_dag_run("etl", "r1")
    assert got is not None
    got.state = DagRunState.FAILED
    got.conf["x"] = 1
    ti = any_store.get_task_instances("etl", "r1")[0]
    ti.state = S.FAILED
    assert any_store.get_dag_run("etl", "r1") == run
    assert any_store.get_task_instances("etl", "r1")[0].state is S.NONE


def test_list_dag_runs_is_ordered_by_logical_date(any_store: Store) -> None:
    for run_id, day in (("b", 2), ("a", 0), ("c", 1)):
        any_store.create_dag_run(make_run(run_id=run_id, day=day), [])
    any_store.create_dag_run(make_run(dag_id="other", run_id="x"), [])
    assert [r.run_id for r in any_store.list_dag_runs("etl")] == ["a", "c", "b"]
    assert any_store.list_dag_runs("missing") == []


def test_save_task_instances_upserts_and_deletes_at_once(any_store: Store) -> None:
    run = make_run()
    placeholder = make_ti("mapped", run)
    any_store.create_dag_run(run, [make_ti("a", run), placeholder])
    a = make_ti(
        "a",
        run,
        state=S.UP_FOR_RETRY,
        try_number=1,
        max_tries=3,
        start_date=T0,
        end_date=T0 + timedelta(seconds=5),
        next_retry_at=T0 + timedelta(seconds=35),
        error="RuntimeError: boom",
        priority_weight=7,
        pool="p",
        pool_slots=2,
        queue="q",
    )
    expanded = [make_ti("mapped", run, i, state=S.SCHEDULED) for i in range(3)]
    any_store.save_task_instances([a, *expanded], delete=[placeholder.key])
    tis = _by_key(any_store)
    assert set(tis) == {("a", -1), ("mapped", 0), ("mapped", 1), ("mapped", 2)}
    assert tis[("a", -1)] == a
    assert tis[("mapped", 1)].state is S.SCHEDULED


def test_save_task_instances_with_nothing_is_a_no_op(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [make_ti("a", run)])
    any_store.save_task_instances([])
    assert set(_by_key(any_store)) == {("a", -1)}


def test_attempts_are_one_row_per_try_in_start_order(any_store: Store) -> None:
    run = make_run()
    a, b = make_ti("a", run), make_ti("b", run)
    any_store.create_dag_run(run, [a, b])
    first = make_attempt(a, 1, T0, hostname="h", pid=12, log_path="/logs/a/1.log")
    any_store.save_attempt(first)
    any_store.save_attempt(make_attempt(b, 1, T0 + timedelta(seconds=1)))
    first.state = S.UP_FOR_RETRY
    first.end_date = T0 + timedelta(seconds=3)
    first.error = "RuntimeError: boom"
    first.rendered_fields = {"bash_command": "echo 1", "env": {"A": "1"}}
    any_store.save_attempt(first)
    any_store.save_attempt(make_attempt(a, 2, T0 + timedelta(seconds=10)))
    attempts = any_store.get_attempts("etl", "r1")
    assert [(x.task_id, x.try_number) for x in attempts] == [("a", 1), ("b", 1), ("a", 2)]
    assert attempts[0] == first
    assert attempts[0].duration == 3.0
    assert [x.try_number for x in any_store.get_attempts("etl", "r1", "a")] == [1, 2]
    assert any_store.get_attempts("etl", "other") == []


def test_xcoms_by_key_name_and_map_index(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [])
    key = TaskInstanceKey("etl", "r1", "t")
    assert any_store.get_xcom(key, "return_value") is None
    any_store.set_xcom(key, "return_value", "1")
    any_store.set_xcom(key, "return_value", "2")
    any_store.set_xcom(key, "other", '"x"')
    assert any_store.get_xcom(key, "return_value") == "2"
    assert any_store.get_xcom(key, "other") == '"x"'
    assert any_store.get_xcoms(key) == {"other": '"x"', "return_value": "2"}
    assert any_store.get_xcoms(TaskInstanceKey("etl", "r1", "t", 0)) == {}
    for index in (2, 0, 1):
        any_store.set_xcom(TaskInstanceKey("etl", "r1", "m", index), "return_value", str(index))
    assert any_store.get_mapped_xcoms("etl", "r1", "m", "return_value") == ["0", "1", "2"]
    assert any_store.get_mapped_xcoms("etl", "r1", "m", "nope") == []
    any_store.clear_xcoms(key)
    any_store.clear_xcoms(TaskInstanceKey("etl", "r1", "m", 1))
    assert any_store.get_xcom(key, "return_value") is None
    assert any_store.get_xcom(key, "other") is None
    assert any_store.get_xcoms(key) == {}
    assert any_store.get_xcoms(TaskInstanceKey("etl", "r1", "m", 2)) == {"return_value": "2"}
    assert any_store.get_mapped_xcoms("etl", "r1", "m", "return_value") == ["0", "2"]


def test_variables(any_store: Store) -> None:
    assert any_store.get_variable("v") is None
    any_store.set_variable("v", "1")
    any_store.set_variable("v", '{"a": 2}')
    assert any_store.get_variable("v") == '{"a": 2}'


def test_connections(any_store: Store) -> None:
    assert any_store.get_connection("db") is None
    conn = Connection.from_uri("db", "postgresql://me:s%40cret@host:5432/data?sslmode=require")
    any_store.set_connection(conn)
    assert any_store.get_connection("db") == conn
    conn.port = 6543
    any_store.set_connection(conn)
    stored = any_store.get_connection("db")
    assert stored == conn
    assert stored is not None and stored.extra == {"sslmode": "require"}


def test_task_instances_come_by_task_id_then_map_index(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [make_ti("b", run), make_ti("a", run)])
    any_store.save_task_instances([make_ti("m", run, i) for i in (2, 0, 1)])
    listed = [(t.task_id, t.map_index) for t in any_store.get_task_instances("etl", "r1")]
    assert listed == [("a", -1), ("b", -1), ("m", 0), ("m", 1), ("m", 2)]
    assert any_store.get_task_instances("etl", "unknown") == []


def test_list_dag_runs_by_state_and_newest_within_a_limit(any_store: Store) -> None:
    for run_id, day, state in (
        ("r0", 0, DagRunState.SUCCESS),
        ("r1", 1, DagRunState.RUNNING),
        ("r2b", 2, DagRunState.QUEUED),
        ("r2a", 2, DagRunState.QUEUED),
    ):
        any_store.create_dag_run(make_run(run_id=run_id, day=day, state=state), [])
    assert [r.run_id for r in any_store.list_dag_runs("etl")] == ["r0", "r1", "r2a", "r2b"]
    assert [r.run_id for r in any_store.list_dag_runs("etl", limit=2)] == ["r2a", "r2b"]
    assert any_store.list_dag_runs("etl", limit=0) == []
    queued = any_store.list_dag_runs("etl", states=[DagRunState.QUEUED, "running"], limit=2)
    assert [r.run_id for r in queued] == ["r2a", "r2b"]
    assert any_store.list_dag_runs("etl", states=[]) == []


def test_an_attempt_is_saved_with_the_instances_it_changes(any_store: Store) -> None:
    run = make_run()
    a = make_ti("a", run)
    any_store.create_dag_run(run, [a])
    a.state, a.try_number = S.RUNNING, 1
    any_store.save_attempt_with_task_instances(make_attempt(a), [a])
    assert any_store.get_task_instances("etl", "r1") == [a]
    assert any_store.get_attempts("etl", "r1") == [make_attempt(a)]


def test_an_instance_remembers_when_it_was_last_queued(any_store: Store, clock: FakeClock) -> None:
    run = make_run()
    queued = make_ti("q", run, state=TaskInstanceState.QUEUED)
    waiting = make_ti("w", run)
    any_store.create_dag_run(run, [queued, waiting])
    first = clock.now()
    assert any_store.task_instance_queued_at(queued.key) == first
    assert any_store.task_instance_queued_at(waiting.key) is None
    clock.advance(timedelta(seconds=5))
    queued.state = TaskInstanceState.RUNNING
    waiting.state = TaskInstanceState.QUEUED
    any_store.save_task_instances([queued, waiting])
    # kept after it moves on; a newly queued one gets the time it was written
    assert any_store.task_instance_queued_at(queued.key) == first
    assert any_store.task_instance_queued_at(waiting.key) == first + timedelta(seconds=5)
    assert any_store.task_instance_queued_at(TaskInstanceKey("etl", "r1", "nope")) is None
    any_store.delete_dag_run("etl", "r1")
    assert any_store.task_instance_queued_at(queued.key) is None
