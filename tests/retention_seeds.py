"""Old and new data to clean up, for the data-retention tests (store contract, command, CLI).

The test clock is at 2024-06-01 12:00 UTC; with ``--older-than 90d`` the cutoff is
2024-03-03 12:00. What :func:`seed` stores, and what a clean-up must do with it:

* DAG ``etl``: ``old_ok`` (Jan 1, success: instances a and b, an attempt, an XCom, an
  event, two consumed asset events, a backfill of its own) and ``old_failed`` (Jan 2,
  failed) **go**; ``old_running`` and ``old_queued`` (unfinished) and ``recent`` (May 30,
  the newest) **stay**.
* DAG ``solo``: one old run, its newest: **stays**.
* DAG ``sched``: scheduled ``s0`` (Jan 1) **goes**; scheduled ``s1`` (Jan 2, the newest
  scheduled run: the scheduler's last interval) and manual ``m2`` (Jan 3, the newest)
  **stay**.
* Events without a run: an old ``pause`` and an old ``delete_run`` of a run deleted long ago
  **go**; a recent one stays, as does the old event of ``old_running``.
* Asset events of ``s3://a`` (``etl`` is scheduled on it): those consumed by ``old_ok`` and
  ``old_failed`` **go**; one consumed by ``recent``, one still queued and the newest stay.
  The only event of ``s3://b`` stays (its asset's newest), though ``old_ok`` consumed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from db_records import T0, make_attempt, make_run, make_ti
from headwater.engine.records import DagRun, TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.assets import AssetReference, AssetSpec
from headwater.store.deadlines import DeadlinePlan
from headwater.store.ports import Store
from headwater.store.state_stores import TaskStateScope

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)

REMOVED_RUNS = {("etl", "old_ok"), ("etl", "old_failed"), ("sched", "s0")}
KEPT_RUNS = {
    ("etl", "old_running"),
    ("etl", "old_queued"),
    ("etl", "recent"),
    ("solo", "only"),
    ("sched", "s1"),
    ("sched", "m2"),
}
REMOVED_ROWS = {
    "dag_runs": 3,
    "task_instances": 4,
    "task_attempts": 2,
    "xcoms": 1,
    "triggers": 0,
    "dag_run_asset_events": 3,
    "deadlines": 1,
    "task_state_store": 1,
    "events": 3,  # one of old_ok, and two without a run
    "asset_events": 2,
    "backfills": 1,
}
"""Rows a clean-up at :data:`CUTOFF` removes, per table."""


@dataclass
class Seeded:
    asset_event_ids: dict[str, int]
    kept_event_ids: set[int]
    removed_event_ids: set[int]


def _run(
    dag_id: str, run_id: str, day: int, state: DagRunState, shift: timedelta, **fields: Any
) -> DagRun:
    ended = state in (DagRunState.SUCCESS, DagRunState.FAILED)
    run = make_run(
        dag_id,
        run_id,
        day,
        state=state,
        end_date=T0 + shift + timedelta(days=day, hours=1) if ended else None,
        **fields,
    )
    run.logical_date += shift
    run.data_interval_start += shift
    run.data_interval_end += shift
    return run


def seed(store: Store, now: datetime = NOW) -> Seeded:
    """Store the data the module lists; ``now`` moves it all (the CLI runs on the real
    clock: its data must be as old relative to now)."""
    shift = now - NOW
    t0 = T0 + shift
    runs = [
        _run("etl", "old_ok", 0, DagRunState.SUCCESS, shift),
        _run("etl", "old_failed", 1, DagRunState.FAILED, shift),
        _run("etl", "old_running", 2, DagRunState.RUNNING, shift),
        _run("etl", "old_queued", 3, DagRunState.QUEUED, shift),
        _run("etl", "recent", 150, DagRunState.SUCCESS, shift),
        _run("solo", "only", 0, DagRunState.SUCCESS, shift),
        _run("sched", "s0", 0, DagRunState.SUCCESS, shift, run_type="scheduled"),
        _run("sched", "s1", 1, DagRunState.SUCCESS, shift, run_type="scheduled"),
        _run("sched", "m2", 2, DagRunState.SUCCESS, shift),
    ]
    for run in runs:
        tasks = ("a", "b") if run.run_id == "old_ok" else ("a",)
        store.create_dag_run(run, [make_ti(t, run, state=TaskInstanceState.SUCCESS) for t in tasks])
    for run in runs[:3]:
        ti = make_ti("a", run)
        store.save_attempt(make_attempt(ti, state=TaskInstanceState.SUCCESS, end_date=t0))
    store.set_xcom(TaskInstanceKey("etl", "old_ok", "a"), "return_value", '"old"')
    store.set_xcom(TaskInstanceKey("etl", "recent", "a"), "return_value", '"new"')

    store.plan_deadlines(
        [
            DeadlinePlan("etl", run_id, "sla", "sla", t0 + timedelta(hours=2), task_id="a")
            for run_id in ("old_ok", "old_running")
        ],
        t0,
    )

    for run_id in ("old_ok", "recent"):
        scope = TaskStateScope("etl", run_id, "a")
        store.set_task_state(scope, "job_id", run_id, expires_at=None, now=t0)

    backfill = store.create_backfill("etl", t0, t0, "none", 1, t0)
    store.set_runs_backfill("etl", ["old_ok"], backfill.id)

    removed = {
        store.record_event("trigger", at=t0, dag_id="etl", run_id="old_ok", actor="cli:ann"),
        store.record_event("pause", at=t0, dag_id="etl", actor="cli:ann"),
        store.record_event("delete_run", at=t0, dag_id="etl", run_id="gone"),
    }
    kept = {
        store.record_event("trigger", at=t0, dag_id="etl", run_id="old_running"),
        store.record_event("pause", at=now - timedelta(days=1), dag_id="etl"),
    }

    store.set_dag_asset_references(
        "etl",
        [AssetSpec("s3://a"), AssetSpec("s3://b")],
        [AssetReference("etl", "s3://a", "schedule"), AssetReference("etl", "s3://b", "schedule")],
        t0,
    )
    ids: dict[str, int] = {}
    for name, when in (
        ("old_ok", t0),
        ("recent", t0),
        ("queued", t0),
        ("old_failed", t0 + timedelta(days=1)),
        ("newest", now - timedelta(days=1)),
    ):
        ids[name] = store.create_asset_event("s3://a", timestamp=when).id
    ids["only_b"] = store.create_asset_event("s3://b", timestamp=t0).id
    for run_id in ("old_ok", "recent", "old_failed"):
        with store.unit_of_work() as uow:
            uow.consume_queued_asset_events("etl", run_id, [ids[run_id]])
    with store.unit_of_work() as uow:
        uow.consume_queued_asset_events("etl", "recent", [ids["newest"]])
    with store.unit_of_work() as uow:
        uow.consume_queued_asset_events("etl", "old_ok", [ids["only_b"]])
    return Seeded(ids, kept, removed)
