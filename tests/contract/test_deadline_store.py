"""The deadline port (:mod:`headwater.store.deadlines`): planning once, meeting or missing
once (compare-and-set), callback states, pages of misses. MemoryStore and SqlStore (SQLite,
PostgreSQL) alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db_records import T0, make_run, make_ti
from headwater.store.deadlines import (
    CALLBACK_FAILED,
    DEADLINE,
    DONE,
    MET,
    MISSED,
    NO_CALLBACK,
    PENDING,
    SLA,
    STARTED,
    WAITING,
    DeadlinePlan,
)
from headwater.store.ports import Store
from headwater.store.sql import SqlStore

HOUR = timedelta(hours=1)


def _run(store: Store, run_id: str = "r1", dag_id: str = "etl") -> None:
    run = make_run(dag_id=dag_id, run_id=run_id)
    store.create_dag_run(run, [make_ti("load", run)])


def _plans(run_id: str = "r1", dag_id: str = "etl") -> list[DeadlinePlan]:
    return [
        DeadlinePlan(dag_id, run_id, "two_hours", DEADLINE, T0 + 2 * HOUR),
        DeadlinePlan(dag_id, run_id, SLA, SLA, T0 + HOUR, task_id="load"),
    ]


def test_deadlines_are_planned_once(any_store: Store) -> None:
    _run(any_store)
    assert any_store.plan_deadlines(_plans(), T0) == 2
    assert any_store.plan_deadlines(_plans(), T0 + HOUR) == 0
    rows = any_store.list_deadlines("etl", "r1")
    assert [(r.name, r.kind, r.task_id, r.map_index) for r in rows] == [
        (SLA, SLA, "load", -1),
        ("two_hours", DEADLINE, None, -1),
    ]
    assert all(r.status == WAITING and r.planned_at == T0 for r in rows)
    assert all(r.callback_state == NO_CALLBACK and r.missed_at is None for r in rows)
    assert any_store.get_deadline(rows[0].id) == rows[0]
    assert any_store.plan_deadlines([], T0) == 0


def test_only_deadlines_due_and_waiting_are_due(any_store: Store) -> None:
    _run(any_store)
    any_store.plan_deadlines(_plans(), T0)
    assert any_store.due_deadlines(T0) == []
    assert [r.name for r in any_store.due_deadlines(T0 + HOUR)] == [SLA]
    due = any_store.due_deadlines(T0 + 3 * HOUR)
    assert [r.name for r in due] == [SLA, "two_hours"]
    assert [r.name for r in any_store.due_deadlines(T0 + 3 * HOUR, limit=1)] == [SLA]
    assert any_store.resolve_deadline(due[0].id, T0 + 3 * HOUR)
    assert [r.name for r in any_store.due_deadlines(T0 + 3 * HOUR)] == ["two_hours"]


def test_a_miss_is_recorded_once(any_store: Store) -> None:
    _run(any_store)
    any_store.plan_deadlines(_plans(), T0)
    row = any_store.due_deadlines(T0 + 3 * HOUR)[1]
    at = T0 + 3 * HOUR
    assert any_store.record_deadline_miss(row.id, at, "the run is still running", has_callback=True)
    assert not any_store.record_deadline_miss(row.id, at, "again", has_callback=True)
    assert not any_store.resolve_deadline(row.id, at)
    missed = any_store.get_deadline(row.id)
    assert missed is not None
    assert (missed.status, missed.missed_at, missed.resolved_at, missed.reason) == (
        MISSED,
        at,
        at,
        "the run is still running",
    )
    assert missed.callback_state == PENDING
    assert [r.name for r in any_store.due_deadlines(at)] == [SLA]


def test_a_met_deadline_is_never_missed(any_store: Store) -> None:
    _run(any_store)
    any_store.plan_deadlines(_plans(), T0)
    row = any_store.due_deadlines(T0 + HOUR)[0]
    assert any_store.resolve_deadline(row.id, T0 + HOUR)
    assert not any_store.record_deadline_miss(row.id, T0 + HOUR, "late", has_callback=False)
    met = any_store.get_deadline(row.id)
    assert met is not None and (met.status, met.resolved_at, met.missed_at) == (
        MET,
        T0 + HOUR,
        None,
    )


def test_callback_states_change_by_compare_and_set(any_store: Store) -> None:
    _run(any_store)
    any_store.plan_deadlines(_plans(), T0)
    first, second = any_store.due_deadlines(T0 + 3 * HOUR)
    any_store.record_deadline_miss(first.id, T0 + 3 * HOUR, "late", has_callback=True)
    any_store.record_deadline_miss(second.id, T0 + 3 * HOUR, "late", has_callback=False)
    assert [r.id for r in any_store.pending_deadline_callbacks()] == [first.id]
    assert any_store.set_deadline_callback_state(first.id, PENDING, STARTED)
    assert not any_store.set_deadline_callback_state(first.id, PENDING, STARTED)
    assert any_store.pending_deadline_callbacks() == []
    assert any_store.set_deadline_callback_state(first.id, STARTED, CALLBACK_FAILED, "boom")
    failed = any_store.get_deadline(first.id)
    assert failed is not None and (failed.callback_state, failed.callback_error) == (
        CALLBACK_FAILED,
        "boom",
    )
    assert not any_store.set_deadline_callback_state(first.id, STARTED, DONE)
    untouched = any_store.get_deadline(second.id)
    assert untouched is not None and untouched.callback_state == NO_CALLBACK


def test_misses_are_listed_latest_first_in_pages(any_store: Store) -> None:
    for i in range(3):
        _run(any_store, f"r{i}")
        any_store.plan_deadlines(_plans(f"r{i}")[:1], T0)
    _run(any_store, "o1", dag_id="other")
    any_store.plan_deadlines(_plans("o1", dag_id="other")[:1], T0)
    for i, row in enumerate(any_store.due_deadlines(T0 + 3 * HOUR)):
        any_store.record_deadline_miss(row.id, T0 + 3 * HOUR + i * HOUR, "late", has_callback=False)
    rows, total = any_store.list_deadline_misses(["etl"], offset=0, limit=2)
    assert total == 3 and [r.run_id for r in rows] == ["r2", "r1"]
    rows, total = any_store.list_deadline_misses(["etl"], offset=2, limit=2)
    assert total == 3 and [r.run_id for r in rows] == ["r0"]
    rows, total = any_store.list_deadline_misses()
    assert total == 4 and rows[0].dag_id == "other"
    assert any_store.list_deadline_misses(["nothing"]) == ([], 0)
    assert any_store.list_deadline_misses([]) == ([], 0)


def test_the_queued_time_of_a_run_is_known_where_the_store_keeps_it(any_store: Store) -> None:
    _run(any_store)
    queued_at = any_store.run_queued_at("etl", "r1")
    if isinstance(any_store, SqlStore):
        assert queued_at == any_store.clock.now()
    else:
        assert queued_at is None
    assert any_store.run_queued_at("etl", "missing") is None


def test_deadlines_go_with_their_run(any_store: Store) -> None:
    _run(any_store)
    any_store.plan_deadlines(_plans(), T0)
    if not isinstance(any_store, SqlStore):
        pytest.skip("the memory store keeps deadlines of deleted runs (they are met when due)")
    assert any_store.delete_dag_run("etl", "r1")
    assert any_store.list_deadlines("etl") == []
