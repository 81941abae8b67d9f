"""The ports of the scheduler, the DAG processor and the operations
(:mod:`headwater.store.ports`): MemoryStore and SqlStore (SQLite, PostgreSQL) behave alike,
ordering and not-found answers included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db_records import T0, make_attempt, make_run, make_ti
from headwater.db import DatabaseError
from headwater.db.rows import (
    AttemptHeartbeat,
    AttemptKey,
    BackfillRow,
    DagRow,
    DagVersionRow,
    ImportErrorRow,
    PoolRow,
)
from headwater.engine.records import DagRun, TaskInstance, TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.base import Connection
from headwater.store.ports import Store

S = TaskInstanceState


def _run_with(
    store: Store, *task_ids: str, run_id: str = "r1", dag_id: str = "etl", day: int = 0
) -> tuple[DagRun, list[TaskInstance]]:
    run = make_run(dag_id=dag_id, run_id=run_id, day=day)
    tis = [make_ti(t, run) for t in task_ids]
    store.create_dag_run(run, tis)
    return run, tis


# -- runs and instances across DAGs ------------------------------------------------------------


def test_run_queries(any_store: Store) -> None:
    for run_id, day, state in (
        ("r0", 0, DagRunState.SUCCESS),
        ("r1", 1, DagRunState.RUNNING),
        ("r2", 2, DagRunState.QUEUED),
        ("r3", 3, DagRunState.QUEUED),
    ):
        any_store.create_dag_run(make_run(run_id=run_id, day=day, state=state), [])
    any_store.create_dag_run(make_run("other", "o1", state=DagRunState.RUNNING), [])
    active = any_store.get_dag_runs_by_state([DagRunState.RUNNING, "queued"])
    assert [(r.dag_id, r.run_id) for r in active] == [
        ("other", "o1"),
        ("etl", "r1"),
        ("etl", "r2"),
        ("etl", "r3"),
    ]
    assert active[0].state is DagRunState.RUNNING
    assert any_store.get_dag_runs_by_state([]) == []
    assert any_store.run_keys_in_state(DagRunState.QUEUED) == {("etl", "r2"), ("etl", "r3")}
    assert any_store.run_keys_in_state("failed") == set()
    assert any_store.count_active_runs("etl") == 3
    assert any_store.count_active_runs("nothing") == 0
    day1 = T0 + timedelta(days=1)
    assert [r.run_id for r in any_store.find_dag_run("etl", day1)] == ["r1"]
    assert any_store.find_dag_run("etl", day1, run_type="scheduled") == []
    assert [r.run_id for r in any_store.find_dag_run("etl", day1, run_type="manual")] == ["r1"]
    any_store.create_dag_run(make_run(run_id="r1-again", day=1), [])
    assert [r.run_id for r in any_store.find_dag_run("etl", day1)] == ["r1", "r1-again"]


def test_deleting_a_run_deletes_its_instances_attempts_and_xcoms(any_store: Store) -> None:
    for run_id in ("r1", "r2"):
        _, (a,) = _run_with(any_store, "a", run_id=run_id)
        any_store.save_attempt(make_attempt(a))
        any_store.set_xcom(a.key, "return_value", "1")
    assert any_store.delete_dag_run("etl", "r1") is True
    assert any_store.delete_dag_run("etl", "r1") is False
    assert any_store.get_dag_run("etl", "r1") is None
    assert any_store.get_task_instances("etl", "r1") == []
    assert any_store.get_attempts("etl", "r1") == []
    assert any_store.get_xcom(TaskInstanceKey("etl", "r1", "a"), "return_value") is None
    assert len(any_store.get_attempts("etl", "r2")) == 1
    assert any_store.get_xcom(TaskInstanceKey("etl", "r2", "a"), "return_value") == "1"
    assert len(any_store.attempt_heartbeats()) == 1


def test_a_run_is_written_by_compare_and_set_on_its_state(any_store: Store) -> None:
    """``save_dag_run(run, expected_state=...)`` writes only if the stored run is still in that
    state; else StaleWriteError names the run and both states, and nothing is written."""
    from headwater.exceptions import StaleWriteError

    run = make_run(state=DagRunState.RUNNING)
    any_store.create_dag_run(run, [])
    run.state, run.end_date = DagRunState.SUCCESS, T0
    any_store.save_dag_run(run, expected_state=DagRunState.RUNNING)
    assert any_store.get_dag_run("etl", "r1") == run

    late = make_run(state=DagRunState.FAILED)
    with pytest.raises(StaleWriteError, match="expected state 'running', stored state 'success'"):
        any_store.save_dag_run(late, expected_state=DagRunState.RUNNING)
    assert any_store.get_dag_run("etl", "r1") == run  # unchanged
    missing = make_run(run_id="nowhere")
    with pytest.raises(StaleWriteError, match=r"run etl/nowhere: expected .*, stored no row"):
        any_store.save_dag_run(missing, expected_state=DagRunState.QUEUED)
    assert any_store.get_dag_run("etl", "nowhere") is None


def test_task_instance_queries(any_store: Store) -> None:
    run = make_run()
    tis = [
        make_ti("a", run, state=S.RUNNING, pool="db", pool_slots=2),
        make_ti("b", run, state=S.QUEUED, pool="db"),
        make_ti("c", run, state=S.RUNNING),
        make_ti("d", run, state=S.SUCCESS, pool="db", pool_slots=5),
    ]
    any_store.create_dag_run(run, tis)
    other = make_run("other", "o1")
    any_store.create_dag_run(other, [make_ti("z", other, 3, state=S.RUNNING)])
    assert any_store.get_task_instance("etl", "r1", "a") == tis[0]
    assert any_store.get_task_instance("other", "o1", "z", 3) is not None
    assert any_store.get_task_instance("etl", "r1", "a", 0) is None
    assert any_store.get_task_instance("etl", "nope", "a") is None
    active = [S.QUEUED, S.RUNNING]
    assert any_store.count_tis_by_pool(active) == {"db": 3, "default_pool": 2}
    assert any_store.count_tis_by_dag(active) == {"etl": 3, "other": 1}
    assert any_store.count_tis_by_pool([S.UP_FOR_RETRY]) == {}
    assert any_store.count_tis_by_dag([S.UP_FOR_RETRY]) == {}


# -- attempts' liveness -----------------------------------------------------------------------


def test_heartbeats_and_workers_of_running_attempts(any_store: Store) -> None:
    _, (a, b) = _run_with(any_store, "a", "b")
    any_store.save_attempt(make_attempt(a, 1, T0))
    done = make_attempt(b, 1, T0, state=S.SUCCESS, end_date=T0 + timedelta(seconds=2))
    any_store.save_attempt(done)
    key = AttemptKey("etl", "r1", "a", -1, 1)
    assert any_store.running_attempts() == [make_attempt(a, 1, T0)]
    assert any_store.attempt_heartbeats() == {key: AttemptHeartbeat(T0, None)}
    later = T0 + timedelta(seconds=30)
    assert any_store.set_attempt_worker(key, "worker-1") is True
    assert any_store.set_attempt_worker(("etl", "r1", "a", -1, 9), "worker-1") is False
    any_store.heartbeat_attempts([("etl", "r1", "a", -1, 1)], later)
    any_store.heartbeat_attempts([], later)
    any_store.heartbeat_attempts([("etl", "r1", "a", -1, 9)], later)  # none such: ignored
    # Saving the attempt again (as the engine does when it ends) keeps both.
    any_store.save_attempt(make_attempt(a, 1, T0, error="still running"))
    assert any_store.attempt_heartbeats() == {key: AttemptHeartbeat(later, "worker-1")}
    ended = make_attempt(a, 1, T0, state=S.SUCCESS, end_date=later)
    any_store.save_attempt(ended)
    assert any_store.running_attempts() == []
    assert any_store.attempt_heartbeats() == {}


def test_running_attempts_come_oldest_first(any_store: Store) -> None:
    _, (a, b) = _run_with(any_store, "a", "b")
    any_store.save_attempt(make_attempt(b, 1, T0 + timedelta(seconds=5)))
    any_store.save_attempt(make_attempt(a, 1, T0 + timedelta(seconds=9)))
    assert [x.task_id for x in any_store.running_attempts()] == ["b", "a"]


# -- DAGs, their files, import errors ----------------------------------------------------------


def test_dag_files(any_store: Store) -> None:
    assert any_store.get_dag_files() == {}
    any_store.upsert_dag_file("/dags/a.py", "h1", 1.5, ["a1", "a2"], T0)
    any_store.upsert_dag_file("/dags/b.py", "h2", 2.0, [], T0)
    any_store.upsert_dag_file("/dags/a.py", "h3", 3.0, ["a1"], T0 + timedelta(minutes=1))
    files = any_store.get_dag_files()
    assert set(files) == {"/dags/a.py", "/dags/b.py"}
    assert files["/dags/a.py"].source_hash == "h3"
    assert files["/dags/a.py"].dag_ids == ["a1"]
    assert files["/dags/a.py"].mtime == 3.0
    assert files["/dags/a.py"].last_parsed_at == T0 + timedelta(minutes=1)
    assert any_store.delete_dag_file("/dags/b.py") is True
    assert any_store.delete_dag_file("/dags/b.py") is False
    assert set(any_store.get_dag_files()) == {"/dags/a.py"}


def test_upsert_dag_keeps_pause_and_schedule_of_an_existing_dag(any_store: Store) -> None:
    serialized = {"dag_id": "etl", "tasks": [{"task_id": "a", "retries": 2}], "version": 1}
    row = DagRow(
        "etl",
        fileloc="/dags/etl.py",
        source_hash="h1",
        serialized=serialized,
        serialized_version=1,
        is_paused=True,
        last_parsed_at=T0,
        description="nightly",
        schedule="@daily",
        tags=["x", "y"],
    )
    any_store.upsert_dag(row)
    assert any_store.get_dag("etl") == row
    assert any_store.get_dag("nope") is None
    assert any_store.set_dag_paused("etl", False) is True
    nxt = T0 + timedelta(days=1)
    assert any_store.set_next_dagrun("etl", nxt, T0, nxt, nxt) is True
    row.source_hash, row.is_paused = "h2", True
    any_store.upsert_dag(row)
    stored = any_store.get_dag("etl")
    assert stored is not None
    assert (stored.source_hash, stored.is_paused) == ("h2", False)
    assert stored.next_dagrun_logical_date == nxt
    assert stored.next_dagrun_data_interval_start == T0
    assert stored.next_dagrun_data_interval_end == nxt
    assert stored.next_dagrun_create_after == nxt
    assert stored.serialized == serialized
    assert any_store.set_dag_paused("nope", True) is False
    assert any_store.set_next_dagrun("nope", None, None, None, None) is False


def test_inactive_dags_are_listed_only_on_request(any_store: Store) -> None:
    for dag_id in ("c", "a", "b"):
        any_store.upsert_dag(DagRow(dag_id))
    assert any_store.deactivate_dags(["b", "missing"]) == 1
    assert any_store.deactivate_dags(["b"]) == 0
    assert any_store.deactivate_dags([]) == 0
    assert [d.dag_id for d in any_store.list_dags()] == ["a", "c"]
    everything = any_store.list_dags(include_inactive=True)
    assert [(d.dag_id, d.is_active) for d in everything] == [
        ("a", True),
        ("b", False),
        ("c", True),
    ]
    assert everything[0].tags == [] and everything[0].serialized is None


def test_dag_versions_are_the_active_dags_without_their_structure(any_store: Store) -> None:
    serialized = {"dag_id": "etl", "tasks": [{"task_id": "a"}], "version": 1}
    any_store.upsert_dag(
        DagRow("etl", fileloc="/dags/etl.py", source_hash="h1", serialized=serialized)
    )
    any_store.upsert_dag(DagRow("bare"))  # no file parsed it yet: no hash, no file
    any_store.upsert_dag(DagRow("gone", fileloc="/dags/gone.py", source_hash="h9"))
    any_store.deactivate_dags(["gone"])
    assert any_store.set_dag_paused("etl", True) is True
    assert any_store.list_dag_versions() == [
        DagVersionRow("bare", source_hash=None, fileloc=None, is_paused=False),
        DagVersionRow("etl", source_hash="h1", fileloc="/dags/etl.py", is_paused=True),
    ]
    any_store.upsert_dag(
        DagRow("etl", fileloc="/dags/moved.py", source_hash="h2", serialized=serialized)
    )
    assert any_store.list_dag_versions()[1] == DagVersionRow("etl", "h2", "/dags/moved.py", True)
    with any_store.unit_of_work() as uow:
        assert [v.dag_id for v in uow.list_dag_versions()] == ["bare", "etl"]
    any_store.delete_dag("etl")
    assert [v.dag_id for v in any_store.list_dag_versions()] == ["bare"]


def test_deleting_a_dag_deletes_everything_of_it_and_counts(any_store: Store) -> None:
    any_store.upsert_dag(DagRow("etl", fileloc="/dags/etl.py"))
    for run_id in ("r1", "r2"):
        _, (a, _b) = _run_with(any_store, "a", "b", run_id=run_id)
        any_store.save_attempt(make_attempt(a))
        any_store.set_xcom(a.key, "return_value", "1")
    _run_with(any_store, "x", dag_id="keep")
    counts = any_store.delete_dag("etl")
    assert counts == {
        "xcoms": 2,
        "task_attempts": 2,
        "task_instances": 4,
        "dag_runs": 2,
        "dags": 1,
    }
    assert any_store.get_dag("etl") is None
    assert any_store.list_dag_runs("etl") == []
    assert len(any_store.list_dag_runs("keep")) == 1
    assert any_store.delete_dag("etl") == dict.fromkeys(counts, 0)


def test_import_errors_are_replaced_per_file(any_store: Store) -> None:
    errors = [
        ImportErrorRow("/dags/a.py", "SyntaxError: bad", T0, line=3, stacktrace="tb"),
        ImportErrorRow("/dags/a.py", "DagDefinitionError: twice", T0),
    ]
    assert any_store.list_import_errors() == []
    any_store.set_import_errors("/dags/b.py", [ImportErrorRow("/dags/b.py", "boom", T0)])
    any_store.set_import_errors("/dags/a.py", errors)
    assert any_store.list_import_errors() == [*errors, ImportErrorRow("/dags/b.py", "boom", T0)]
    any_store.set_import_errors("/dags/a.py", errors[1:])
    any_store.clear_import_errors("/dags/b.py")
    any_store.clear_import_errors("/dags/never.py")
    assert any_store.list_import_errors() == errors[1:]


# -- pools, variables, connections -------------------------------------------------------------


def test_pools(any_store: Store) -> None:
    assert any_store.list_pools() == [PoolRow("default_pool", 128, "Default pool")]
    any_store.set_pool("db", 4, "the database")
    any_store.set_pool("db", 8)
    any_store.set_pool("default_pool", 16, "Default pool")
    assert any_store.get_pool("db") == PoolRow("db", 8, "")
    assert any_store.get_pool("nope") is None
    assert [(p.name, p.slots) for p in any_store.list_pools()] == [
        ("db", 8),
        ("default_pool", 16),
    ]
    assert any_store.delete_pool("db") is True
    assert any_store.delete_pool("db") is False
    with pytest.raises(DatabaseError, match="'default_pool' cannot be deleted"):
        any_store.delete_pool("default_pool")
    with pytest.raises(ValueError, match="pool 'bad': slots must be 0 or more, not -1"):
        any_store.set_pool("bad", -1)
    assert any_store.get_pool("bad") is None


def test_variables_with_descriptions(any_store: Store) -> None:
    any_store.set_variable("b", "2", description="the b")
    any_store.set_variable("a", "1")
    any_store.set_variable("b", "3")
    assert [(v.key, v.value, v.description) for v in any_store.list_variables()] == [
        ("a", "1", None),
        ("b", "3", "the b"),
    ]
    assert any_store.delete_variable("a") is True
    assert any_store.delete_variable("a") is False
    assert any_store.get_variable("a") is None


def test_list_and_delete_connections(any_store: Store) -> None:
    assert any_store.list_connections() == []
    any_store.set_connection(Connection("b", "http", host="example.test"))
    any_store.set_connection(Connection("a", "postgres", extra={"x": [1, 2]}))
    assert [c.conn_id for c in any_store.list_connections()] == ["a", "b"]
    assert any_store.list_connections()[0].extra == {"x": [1, 2]}
    assert any_store.delete_connection("a") is True
    assert any_store.delete_connection("a") is False
    assert any_store.get_connection("a") is None


def test_set_connections_stores_them_all_and_rotation_without_a_key_rewrites_nothing(
    any_store: Store,
) -> None:
    any_store.set_connections(
        [Connection("a", "postgres", password="pw-a"), Connection("b", "http", password="pw-b")]
    )
    stored = {c.conn_id: c.password for c in any_store.list_connections()}
    assert stored == {"a": "pw-a", "b": "pw-b"}
    rotated = any_store.rotate_fernet_key()  # no key set: nothing is encrypted
    assert (rotated.connections, rotated.variables, rotated.rows) == (0, 0, 0)
    assert any_store.get_connection("a") == Connection("a", "postgres", password="pw-a")


# -- the event log, jobs -----------------------------------------------------------------------


def test_record_event_and_filters(any_store: Store) -> None:
    assert any_store.list_events() == []
    first = any_store.record_event("trigger", at=T0, dag_id="etl", run_id="r1", detail="cli")
    second = any_store.record_event(
        "clear", at=T0, dag_id="etl", run_id="r1", task_id="t", map_index=2, try_number=1
    )
    third = any_store.record_event("pause", at=T0, dag_id="other", state="paused")
    assert first < second < third
    events = any_store.list_events(dag_id="etl")
    assert [(e.id, e.kind) for e in events] == [(first, "trigger"), (second, "clear")]
    assert events[0].detail == "cli" and events[0].task_id is None
    assert (events[1].task_id, events[1].map_index, events[1].try_number) == ("t", 2, 1)
    assert events[1].at == T0
    assert [e.kind for e in any_store.list_events(limit=1)] == ["pause"]
    assert [e.kind for e in any_store.list_events(limit=None)] == ["trigger", "clear", "pause"]
    assert [e.id for e in any_store.list_events(run_id="r1", kind="clear")] == [second]
    assert any_store.list_events(dag_id="nope") == []


def test_page_events_pages_newest_first_with_the_total(any_store: Store) -> None:
    ids = [
        any_store.record_event("trigger", at=T0, dag_id=f"d{i % 3}", actor=f"u{i % 2}")
        for i in range(7)
    ]
    any_store.record_event("pause", at=T0, dag_id="d0")
    any_store.record_event("delete_dag", at=T0)
    events, total = any_store.page_events(limit=3, offset=0)
    assert total == 9
    assert [e.kind for e in events] == ["delete_dag", "pause", "trigger"]
    events, total = any_store.page_events(kind="trigger", limit=3, offset=3)
    assert total == 7
    assert [e.id for e in events] == [ids[3], ids[2], ids[1]]
    events, total = any_store.page_events(dag_ids=["d1", "d2"], limit=100)
    assert total == 4 and {e.dag_id for e in events} == {"d1", "d2"}
    assert any_store.page_events(dag_ids=[], limit=100) == ([], 0)
    assert any_store.page_events(offset=50) == ([], 9)
    events, total = any_store.page_events(actor="u1", limit=100)
    assert total == 3 and [e.id for e in events] == [ids[5], ids[3], ids[1]]
    assert {e.actor for e in events} == {"u1"}
    assert any_store.page_events(actor="nobody") == ([], 0)


def test_jobs_tell_a_live_scheduler_from_a_dead_one(any_store: Store) -> None:
    dead = any_store.start_job("scheduler", "host-a", 100, T0)
    alive = any_store.start_job("scheduler", "host-b", 200, T0)
    worker = any_store.start_job("worker", "host-b", 300, T0)
    ended = any_store.start_job("dag_processor", "host-b", 400, T0)
    later = T0 + timedelta(minutes=5)
    assert any_store.heartbeat_job(alive, later) is True
    assert any_store.heartbeat_job(worker, later) is True
    assert any_store.end_job(ended, later) is True
    assert any_store.heartbeat_job(999, later) is False
    assert any_store.end_job(999, later) is False
    assert [j.id for j in any_store.list_jobs()] == [dead, alive, worker, ended]
    recent = any_store.list_jobs(kind="scheduler", alive_since=later - timedelta(seconds=30))
    assert [(j.id, j.hostname, j.pid, j.heartbeat_at) for j in recent] == [
        (alive, "host-b", 200, later)
    ]
    assert [j.id for j in any_store.list_jobs(alive_since=later)] == [alive, worker]
    (stopped,) = any_store.list_jobs(kind="dag_processor")
    assert stopped.ended_at == later and stopped.started_at == T0


# -- backfills ---------------------------------------------------------------------------------


def test_backfills_and_their_runs(any_store: Store) -> None:
    end = T0 + timedelta(days=3)
    first = any_store.create_backfill("etl", T0, end, "failed", 2, T0)
    second = any_store.create_backfill("other", T0, end, "none", 1, T0)
    assert first == BackfillRow(first.id, "etl", T0, end, "failed", 2, T0)
    assert second.id > first.id
    assert any_store.get_backfill(first.id) == first
    assert any_store.get_backfill(9999) is None
    assert any_store.list_backfills() == [first, second]
    assert any_store.list_backfills("etl") == [first]
    assert any_store.list_backfills("nope") == []
    for run_id, day, state in (
        ("b0", 0, DagRunState.SUCCESS),
        ("b1", 1, DagRunState.RUNNING),
        ("b2", 2, DagRunState.QUEUED),
    ):
        any_store.create_dag_run(make_run(run_id=run_id, day=day, state=state), [])
    assert any_store.backfill_limits() == {}
    assert any_store.set_runs_backfill("etl", ["b0", "b1", "b2", "missing"], first.id) == 3
    assert any_store.set_runs_backfill("etl", [], first.id) == 0
    assert any_store.run_backfill_ids("etl") == {"b0": first.id, "b1": first.id, "b2": first.id}
    assert any_store.active_backfill_runs() == {("etl", "b1"): first.id, ("etl", "b2"): first.id}
    assert any_store.backfill_limits() == {first.id: 2}
    run = any_store.get_dag_run("etl", "b1")
    assert run is not None and run.backfill_id == first.id
    assert any_store.set_runs_backfill("etl", ["b1"], None) == 1
    assert any_store.run_backfill_ids("etl") == {"b0": first.id, "b2": first.id}
    assert any_store.delete_backfills("etl") == 1
    assert any_store.delete_backfills("etl") == 0
    assert any_store.list_backfills() == [second]


def test_a_backfill_remembers_who_asked_and_is_completed_once(any_store: Store) -> None:
    end = T0 + timedelta(days=3)
    row = any_store.create_backfill("etl", T0, end, "all", 1, T0, created_by="ann")
    assert (row.created_by, row.completed_at, row.run_backwards) == ("ann", None, False)
    backwards = any_store.create_backfill("etl", T0, end, "all", 1, T0, run_backwards=True)
    assert any_store.get_backfill(backwards.id) == backwards
    assert backwards.run_backwards is True
    assert any_store.get_backfill(row.id) == row
    later = T0 + timedelta(hours=1)
    assert any_store.complete_backfill(row.id, later) is True
    assert any_store.complete_backfill(row.id, later + timedelta(hours=1)) is False
    assert any_store.complete_backfill(9999, later) is False
    stored = any_store.get_backfill(row.id)
    assert stored is not None and stored.completed_at == later
    assert any_store.list_backfills("etl") == [stored, backwards]


# -- run claims ----------------------------------------------------------------------------------

LEASE = timedelta(minutes=1)


def test_claims_take_active_unclaimed_runs_oldest_first(any_store: Store) -> None:
    for run_id, day, state in (
        ("done", 0, DagRunState.SUCCESS),
        ("r2", 2, DagRunState.QUEUED),
        ("r1", 1, DagRunState.RUNNING),
        ("r3", 3, DagRunState.QUEUED),
    ):
        any_store.create_dag_run(make_run(run_id=run_id, day=day, state=state), [])
    assert any_store.get_run_claim("etl", "r1") is None
    assert any_store.claim_runs("one", T0, LEASE, limit=2) == [("etl", "r1"), ("etl", "r2")]
    assert any_store.claim_runs("two", T0, LEASE) == [("etl", "r3")]
    assert any_store.claim_runs("two", T0, LEASE) == []  # all held, the finished one never
    claim = any_store.get_run_claim("etl", "r2")
    assert claim is not None and (claim.claimed_by, claim.expires_at) == ("one", T0 + LEASE)
    assert any_store.get_run_claim("etl", "done") is None
    assert any_store.get_run_claim("etl", "nope") is None


def test_an_expired_claim_is_taken_over_and_its_owner_learns_it(any_store: Store) -> None:
    any_store.create_dag_run(make_run(run_id="r1"), [])
    any_store.create_dag_run(make_run(run_id="r2", day=1), [])
    assert any_store.claim_runs("one", T0, LEASE) == [("etl", "r1"), ("etl", "r2")]
    later = T0 + timedelta(seconds=30)
    assert any_store.renew_run_claims("one", later, LEASE) == {("etl", "r1"), ("etl", "r2")}
    assert any_store.claim_runs("two", T0 + LEASE, LEASE) == []  # renewed: still held
    expired = later + LEASE
    assert any_store.claim_runs("two", expired, LEASE, limit=1) == [("etl", "r1")]
    assert any_store.renew_run_claims("one", expired, LEASE) == {("etl", "r2")}
    claim = any_store.get_run_claim("etl", "r1")
    assert claim is not None and (claim.claimed_by, claim.expires_at) == ("two", expired + LEASE)


def test_released_runs_are_claimable_again(any_store: Store) -> None:
    for day in range(3):
        any_store.create_dag_run(make_run(run_id=f"r{day}", day=day), [])
    any_store.claim_runs("one", T0, LEASE)
    assert any_store.release_run_claims("one", [("etl", "r0"), ("etl", "nope")]) == 1
    assert any_store.release_run_claims("two") == 0  # holds nothing
    assert any_store.release_run_claims("one", []) == 0
    assert any_store.get_run_claim("etl", "r0") is None
    assert any_store.claim_runs("two", T0, LEASE) == [("etl", "r0")]
    assert any_store.release_run_claims("one") == 2
    assert any_store.renew_run_claims("one", T0, LEASE) == set()
    assert any_store.claim_runs("two", T0, LEASE) == [("etl", "r1"), ("etl", "r2")]


def test_saving_a_run_keeps_its_claim(any_store: Store) -> None:
    run = make_run()
    any_store.create_dag_run(run, [])
    any_store.claim_runs("one", T0, LEASE)
    run.state = DagRunState.RUNNING
    any_store.save_dag_run(run)
    claim = any_store.get_run_claim("etl", "r1")
    assert claim is not None and claim.claimed_by == "one"
    run.state = DagRunState.SUCCESS
    any_store.save_dag_run(run)
    assert any_store.renew_run_claims("one", T0, LEASE) == set()  # finished: not held
