"""What only the SQL store does: the event log, queries for the scheduler and the CLI, DAGs,
pools, jobs, cascading deletes, timestamps. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from db_records import T0, make_attempt, make_run, make_ti
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from headwater.clock import FakeClock
from headwater.db import DatabaseError
from headwater.db.convert import ATTEMPTS, TIS
from headwater.db.rows import AttemptHeartbeat, AttemptKey, DagRow, ImportErrorRow, PoolRow
from headwater.engine.records import TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.base import Connection
from headwater.store.sql import SqlStore

S = TaskInstanceState


def _run_with(store: SqlStore, *task_ids: str, run_id: str = "r1", dag_id: str = "etl", day=0):
    run = make_run(dag_id=dag_id, run_id=run_id, day=day)
    tis = [make_ti(t, run) for t in task_ids]
    store.create_dag_run(run, tis)
    return run, tis


# -- the event log ---------------------------------------------------------------------------


def test_every_task_instance_written_is_logged_with_its_new_state(
    sql_store: SqlStore, clock: FakeClock
) -> None:
    _, (a, b) = _run_with(sql_store, "a", "b")
    clock.advance(timedelta(seconds=5))
    a.state, b.state = S.QUEUED, S.SKIPPED
    sql_store.save_task_instances([a, b])
    clock.advance(timedelta(seconds=5))
    a.state, a.try_number, a.error = S.FAILED, 1, "RuntimeError: boom"
    sql_store.save_task_instances([a])
    events = sql_store.list_events(dag_id="etl", run_id="r1", limit=None)
    assert [(e.kind, e.task_id, e.state) for e in events] == [
        ("run_state", None, "queued"),
        ("ti_state", "a", "none"),
        ("ti_state", "b", "none"),
        ("ti_state", "a", "queued"),
        ("ti_state", "b", "skipped"),
        ("ti_state", "a", "failed"),
    ]
    last = events[-1]
    assert last.at == clock.now()
    assert (last.map_index, last.try_number, last.detail) == (-1, 1, "RuntimeError: boom")
    assert [e.state for e in sql_store.list_events(kind="ti_state", limit=2)] == [
        "skipped",
        "failed",
    ]


def test_a_run_state_event_is_written_only_when_the_state_changes(sql_store: SqlStore) -> None:
    run, _ = _run_with(sql_store)
    run.note = "only a note"
    sql_store.save_dag_run(run)
    run.state = DagRunState.RUNNING
    sql_store.save_dag_run(run)
    sql_store.save_dag_run(run)
    run.state = DagRunState.SUCCESS
    sql_store.save_dag_run(run)
    states = [e.state for e in sql_store.list_events(kind="run_state")]
    assert states == ["queued", "running", "success"]


def test_record_event_and_filters(sql_store: SqlStore) -> None:
    first = sql_store.record_event("trigger", at=T0, dag_id="etl", run_id="r1", detail="cli")
    second = sql_store.record_event(
        "clear", at=T0, dag_id="etl", run_id="r1", task_id="t", map_index=2, try_number=1
    )
    sql_store.record_event("pause", at=T0, dag_id="other")
    assert second > first
    events = sql_store.list_events(dag_id="etl")
    assert [(e.id, e.kind) for e in events] == [(first, "trigger"), (second, "clear")]
    assert events[1].map_index == 2 and events[1].at == T0
    assert [e.kind for e in sql_store.list_events(limit=1)] == ["pause"]


# -- runs --------------------------------------------------------------------------------------


def test_run_queries(sql_store: SqlStore) -> None:
    for run_id, day, state in (
        ("r0", 0, DagRunState.SUCCESS),
        ("r1", 1, DagRunState.RUNNING),
        ("r2", 2, DagRunState.QUEUED),
        ("r3", 3, DagRunState.QUEUED),
    ):
        sql_store.create_dag_run(make_run(run_id=run_id, day=day, state=state), [])
    sql_store.create_dag_run(make_run("other", "o1", state=DagRunState.RUNNING), [])
    assert [r.run_id for r in sql_store.list_dag_runs("etl", limit=2)] == ["r2", "r3"]
    queued = sql_store.list_dag_runs("etl", states=[DagRunState.QUEUED])
    assert [r.run_id for r in queued] == ["r2", "r3"]
    active = sql_store.get_dag_runs_by_state([DagRunState.RUNNING, "queued"])
    assert [(r.dag_id, r.run_id) for r in active] == [
        ("other", "o1"),
        ("etl", "r1"),
        ("etl", "r2"),
        ("etl", "r3"),
    ]
    assert active[0].state is DagRunState.RUNNING
    assert sql_store.count_active_runs("etl") == 3
    assert sql_store.count_active_runs("nothing") == 0
    day1 = T0 + timedelta(days=1)
    assert [r.run_id for r in sql_store.find_dag_run("etl", day1)] == ["r1"]
    assert sql_store.find_dag_run("etl", day1, run_type="scheduled") == []
    assert [r.run_id for r in sql_store.find_dag_run("etl", day1, run_type="manual")] == ["r1"]


def test_deleting_a_run_deletes_its_instances_attempts_and_xcoms(sql_store: SqlStore) -> None:
    for run_id in ("r1", "r2"):
        _, (a,) = _run_with(sql_store, "a", run_id=run_id)
        sql_store.save_attempt(make_attempt(a))
        sql_store.set_xcom(a.key, "return_value", "1")
    assert sql_store.delete_dag_run("etl", "r1") is True
    assert sql_store.delete_dag_run("etl", "r1") is False
    assert sql_store.get_dag_run("etl", "r1") is None
    assert sql_store.get_task_instances("etl", "r1") == []
    assert sql_store.get_attempts("etl", "r1") == []
    assert sql_store.get_xcom(TaskInstanceKey("etl", "r1", "a"), "return_value") is None
    assert len(sql_store.get_attempts("etl", "r2")) == 1
    assert sql_store.get_xcom(TaskInstanceKey("etl", "r2", "a"), "return_value") == "1"


def test_deleting_a_dag_deletes_everything_of_it_and_counts(sql_store: SqlStore) -> None:
    sql_store.upsert_dag(DagRow("etl", fileloc="/dags/etl.py"))
    for run_id in ("r1", "r2"):
        _, (a, _b) = _run_with(sql_store, "a", "b", run_id=run_id)
        sql_store.save_attempt(make_attempt(a))
        sql_store.set_xcom(a.key, "return_value", "1")
    _run_with(sql_store, "x", dag_id="keep")
    counts = sql_store.delete_dag("etl")
    assert counts == {
        "xcoms": 2,
        "task_attempts": 2,
        "task_instances": 4,
        "dag_runs": 2,
        "dags": 1,
    }
    assert sql_store.get_dag("etl") is None
    assert sql_store.list_dag_runs("etl") == []
    assert len(sql_store.list_dag_runs("keep")) == 1


def test_rows_of_a_run_that_does_not_exist_are_refused(sql_store: SqlStore) -> None:
    with pytest.raises(IntegrityError):
        sql_store.save_task_instances([make_ti("a", make_run(run_id="ghost"))])


# -- task instances and attempts --------------------------------------------------------------


def test_task_instance_queries(sql_store: SqlStore) -> None:
    run = make_run()
    tis = [
        make_ti("a", run, state=S.RUNNING, pool="db", pool_slots=2),
        make_ti("b", run, state=S.QUEUED, pool="db"),
        make_ti("c", run, state=S.RUNNING),
        make_ti("d", run, state=S.SUCCESS, pool="db", pool_slots=5),
    ]
    sql_store.create_dag_run(run, tis)
    other = make_run("other", "o1")
    sql_store.create_dag_run(other, [make_ti("z", other, 3, state=S.RUNNING)])
    assert sql_store.get_task_instance("etl", "r1", "a") == tis[0]
    assert sql_store.get_task_instance("other", "o1", "z", 3) is not None
    assert sql_store.get_task_instance("etl", "r1", "a", 0) is None
    active = [S.QUEUED, S.RUNNING]
    assert sql_store.count_tis_by_pool(active) == {"db": 3, "default_pool": 2}
    assert sql_store.count_tis_by_dag(active) == {"etl": 3, "other": 1}
    assert sql_store.count_tis_by_pool([S.UP_FOR_RETRY]) == {}


def test_queued_at_and_updated_at_come_from_the_store_clock(
    sql_store: SqlStore, clock: FakeClock
) -> None:
    _, (a,) = _run_with(sql_store, "a")
    queued_at = clock.now() + timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))
    a.state = S.QUEUED
    sql_store.save_task_instances([a])
    clock.advance(timedelta(seconds=1))
    a.state = S.RUNNING
    sql_store.save_task_instances([a])
    with sql_store.engine.connect() as conn:
        row = conn.execute(select(TIS.c.queued_at, TIS.c.updated_at)).one()
    assert row.queued_at == queued_at
    assert row.updated_at == clock.now()


def test_heartbeats_and_workers_of_running_attempts(sql_store: SqlStore) -> None:
    _, (a, b) = _run_with(sql_store, "a", "b")
    sql_store.save_attempt(make_attempt(a, 1, T0))
    done = make_attempt(b, 1, T0, state=S.SUCCESS, end_date=T0 + timedelta(seconds=2))
    sql_store.save_attempt(done)
    key = AttemptKey("etl", "r1", "a", -1, 1)
    assert sql_store.running_attempts() == [make_attempt(a, 1, T0)]
    assert sql_store.attempt_heartbeats() == {key: AttemptHeartbeat(T0, None)}
    later = T0 + timedelta(seconds=30)
    assert sql_store.set_attempt_worker(key, "worker-1") is True
    assert sql_store.set_attempt_worker(("etl", "r1", "a", -1, 9), "worker-1") is False
    sql_store.heartbeat_attempts([("etl", "r1", "a", -1, 1)], later)
    sql_store.heartbeat_attempts([], later)
    # Saving the attempt again (as the engine does when it ends) keeps both.
    sql_store.save_attempt(make_attempt(a, 1, T0, error="still running"))
    assert sql_store.attempt_heartbeats() == {key: AttemptHeartbeat(later, "worker-1")}
    with sql_store.engine.connect() as conn:
        durations = dict(conn.execute(select(ATTEMPTS.c.task_id, ATTEMPTS.c.duration)).all())
    assert durations == {"a": None, "b": 2.0}


# -- DAGs, their files, import errors ----------------------------------------------------------


def test_dag_files(sql_store: SqlStore) -> None:
    sql_store.upsert_dag_file("/dags/a.py", "h1", 1.5, ["a1", "a2"], T0)
    sql_store.upsert_dag_file("/dags/b.py", "h2", 2.0, [], T0)
    sql_store.upsert_dag_file("/dags/a.py", "h3", 3.0, ["a1"], T0 + timedelta(minutes=1))
    files = sql_store.get_dag_files()
    assert set(files) == {"/dags/a.py", "/dags/b.py"}
    assert files["/dags/a.py"].source_hash == "h3"
    assert files["/dags/a.py"].dag_ids == ["a1"]
    assert files["/dags/a.py"].last_parsed_at == T0 + timedelta(minutes=1)
    assert sql_store.delete_dag_file("/dags/b.py") is True
    assert sql_store.delete_dag_file("/dags/b.py") is False
    assert set(sql_store.get_dag_files()) == {"/dags/a.py"}


def test_upsert_dag_keeps_pause_and_schedule_of_an_existing_dag(
    sql_store: SqlStore, clock: FakeClock
) -> None:
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
    sql_store.upsert_dag(row)
    assert sql_store.get_dag("etl") == row
    assert sql_store.get_dag("nope") is None
    sql_store.set_dag_paused("etl", False)
    nxt = T0 + timedelta(days=1)
    sql_store.set_next_dagrun("etl", nxt, T0, nxt, nxt)
    row.source_hash, row.is_paused = "h2", True
    sql_store.upsert_dag(row)
    stored = sql_store.get_dag("etl")
    assert stored is not None
    assert (stored.source_hash, stored.is_paused) == ("h2", False)
    assert stored.next_dagrun_logical_date == nxt
    assert stored.next_dagrun_data_interval_start == T0
    assert stored.next_dagrun_create_after == nxt
    assert stored.serialized == serialized
    assert sql_store.set_dag_paused("nope", True) is False
    assert sql_store.set_next_dagrun("nope", None, None, None, None) is False
    pauses = sql_store.list_events(kind="pause")
    assert [(e.dag_id, e.detail, e.at) for e in pauses] == [("etl", "unpaused", clock.now())]


def test_inactive_dags_are_listed_only_on_request(sql_store: SqlStore) -> None:
    for dag_id in ("c", "a", "b"):
        sql_store.upsert_dag(DagRow(dag_id))
    assert sql_store.deactivate_dags(["b", "missing"]) == 1
    assert sql_store.deactivate_dags([]) == 0
    assert [d.dag_id for d in sql_store.list_dags()] == ["a", "c"]
    everything = sql_store.list_dags(include_inactive=True)
    assert [(d.dag_id, d.is_active) for d in everything] == [
        ("a", True),
        ("b", False),
        ("c", True),
    ]
    assert everything[0].tags == [] and everything[0].serialized is None


def test_import_errors_are_replaced_per_file(sql_store: SqlStore) -> None:
    errors = [
        ImportErrorRow("/dags/a.py", "SyntaxError: bad", T0, line=3, stacktrace="tb"),
        ImportErrorRow("/dags/a.py", "DagDefinitionError: twice", T0),
    ]
    sql_store.set_import_errors("/dags/a.py", errors)
    sql_store.set_import_errors("/dags/b.py", [ImportErrorRow("/dags/b.py", "boom", T0)])
    assert sql_store.list_import_errors() == [*errors, ImportErrorRow("/dags/b.py", "boom", T0)]
    sql_store.set_import_errors("/dags/a.py", errors[1:])
    sql_store.clear_import_errors("/dags/b.py")
    assert sql_store.list_import_errors() == errors[1:]


# -- pools, variables, connections -------------------------------------------------------------


def test_pools(sql_store: SqlStore) -> None:
    assert sql_store.list_pools() == [PoolRow("default_pool", 128, "Default pool")]
    sql_store.set_pool("db", 4, "the database")
    sql_store.set_pool("db", 8)
    sql_store.set_pool("default_pool", 16, "Default pool")
    assert sql_store.get_pool("db") == PoolRow("db", 8, "")
    assert sql_store.get_pool("nope") is None
    assert [(p.name, p.slots) for p in sql_store.list_pools()] == [
        ("db", 8),
        ("default_pool", 16),
    ]
    assert sql_store.delete_pool("db") is True
    assert sql_store.delete_pool("db") is False
    with pytest.raises(DatabaseError, match="'default_pool' cannot be deleted"):
        sql_store.delete_pool("default_pool")
    with pytest.raises(ValueError, match="slots must be 0 or more"):
        sql_store.set_pool("bad", -1)


def test_variables_with_descriptions(sql_store: SqlStore) -> None:
    sql_store.set_variable("b", "2", description="the b")
    sql_store.set_variable("a", "1")
    sql_store.set_variable("b", "3")
    assert [(v.key, v.value, v.description) for v in sql_store.list_variables()] == [
        ("a", "1", None),
        ("b", "3", "the b"),
    ]
    assert sql_store.delete_variable("a") is True
    assert sql_store.delete_variable("a") is False
    assert sql_store.get_variable("a") is None


def test_list_and_delete_connections(sql_store: SqlStore) -> None:
    sql_store.set_connection(Connection("b", "http", host="example.test"))
    sql_store.set_connection(Connection("a", "postgres", extra={"x": [1, 2]}))
    assert [c.conn_id for c in sql_store.list_connections()] == ["a", "b"]
    assert sql_store.list_connections()[0].extra == {"x": [1, 2]}
    assert sql_store.delete_connection("a") is True
    assert sql_store.delete_connection("a") is False
    assert sql_store.get_connection("a") is None


# -- jobs --------------------------------------------------------------------------------------


def test_jobs_tell_a_live_scheduler_from_a_dead_one(sql_store: SqlStore) -> None:
    dead = sql_store.start_job("scheduler", "host-a", 100, T0)
    alive = sql_store.start_job("scheduler", "host-b", 200, T0)
    worker = sql_store.start_job("worker", "host-b", 300, T0)
    ended = sql_store.start_job("dag_processor", "host-b", 400, T0)
    later = T0 + timedelta(minutes=5)
    assert sql_store.heartbeat_job(alive, later) is True
    assert sql_store.heartbeat_job(worker, later) is True
    assert sql_store.end_job(ended, later) is True
    assert sql_store.heartbeat_job(999, later) is False
    assert [j.id for j in sql_store.list_jobs()] == [dead, alive, worker, ended]
    recent = sql_store.list_jobs(kind="scheduler", alive_since=later - timedelta(seconds=30))
    assert [(j.id, j.hostname, j.pid, j.heartbeat_at) for j in recent] == [
        (alive, "host-b", 200, later)
    ]
    assert [j.id for j in sql_store.list_jobs(alive_since=later)] == [alive, worker]
    (stopped,) = sql_store.list_jobs(kind="dag_processor")
    assert stopped.ended_at == later and stopped.started_at == T0


# -- timestamps --------------------------------------------------------------------------------


def test_timestamps_come_back_as_the_same_instant_in_utc(sql_store: SqlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 3, 10, 14, 30, 15, 123456, tzinfo=plus_two)
    run = make_run()
    run.logical_date = local
    run.start_date = local
    sql_store.create_dag_run(run, [])
    stored = sql_store.get_dag_run("etl", "r1")
    assert stored is not None
    assert stored.logical_date == local
    assert stored.logical_date.tzinfo is UTC
    assert stored.logical_date.hour == 12 and stored.logical_date.microsecond == 123456
    assert stored.start_date is not None and stored.start_date.utcoffset() == timedelta(0)
    # Comparisons in SQL are by instant too.
    assert [r.run_id for r in sql_store.find_dag_run("etl", local.astimezone(UTC))] == ["r1"]


def test_naive_timestamps_are_refused(sql_store: SqlStore) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        sql_store.start_job("scheduler", "h", 1, datetime(2024, 1, 1))
