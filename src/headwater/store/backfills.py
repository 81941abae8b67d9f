"""Backfills as functions over a :class:`~headwater.store.ports.BackfillStore`.

A backfill is one request to run a DAG over a range of logical dates; its runs carry its id
(``dag_runs.backfill_id`` on SQL). The scheduler reads :func:`backfill_limits` and
:func:`active_backfill_runs` to keep each backfill within its ``max_active_runs``. These
functions are the port's methods under the names the scheduler and the operations have
always called; each is one transaction. Example::

    row = create_backfill(store, "etl", start, end, "failed", 2, now)
    set_runs_backfill(store, "etl", ["backfill__2024-01-01T00:00:00+00:00"], row.id)
    backfill_limits(store)          # {row.id: 2} while one of its runs is queued or running
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from headwater.db.rows import BackfillRow
from headwater.store.ports import BackfillStore

__all__ = [
    "BackfillRow",
    "active_backfill_runs",
    "backfill_limits",
    "complete_backfill",
    "create_backfill",
    "delete_backfills",
    "get_backfill",
    "list_backfills",
    "run_backfill_ids",
    "set_runs_backfill",
]


def create_backfill(
    store: BackfillStore,
    dag_id: str,
    start: datetime,
    end: datetime,
    reprocess: str,
    max_active_runs: int,
    created_at: datetime,
    created_by: str | None = None,
    run_backwards: bool = False,
) -> BackfillRow:
    """Store a new backfill and return it with its id."""
    return store.create_backfill(
        dag_id, start, end, reprocess, max_active_runs, created_at, created_by, run_backwards
    )


def get_backfill(store: BackfillStore, backfill_id: int) -> BackfillRow | None:
    return store.get_backfill(backfill_id)


def complete_backfill(store: BackfillStore, backfill_id: int, completed_at: datetime) -> bool:
    """Mark the backfill completed (cancelled) at ``completed_at``; False if it already was."""
    return store.complete_backfill(backfill_id, completed_at)


def list_backfills(store: BackfillStore, dag_id: str | None = None) -> list[BackfillRow]:
    """Backfills (of ``dag_id``, or all), oldest first."""
    return store.list_backfills(dag_id)


def set_runs_backfill(
    store: BackfillStore, dag_id: str, run_ids: Iterable[str], backfill_id: int | None
) -> int:
    """Mark runs of ``dag_id`` as belonging to backfill ``backfill_id``; returns how many."""
    return store.set_runs_backfill(dag_id, run_ids, backfill_id)


def backfill_limits(store: BackfillStore) -> dict[int, int]:
    """Backfill id -> its ``max_active_runs``, for every backfill with a run queued or running.

    The scheduler starts a QUEUED run of backfill ``b`` only while fewer than
    ``backfill_limits(store)[b]`` of b's runs are RUNNING (see :func:`active_backfill_runs`).
    """
    return store.backfill_limits()


def active_backfill_runs(store: BackfillStore) -> dict[tuple[str, str], int]:
    """(dag_id, run_id) -> backfill id, for every queued or running run of a backfill."""
    return store.active_backfill_runs()


def run_backfill_ids(store: BackfillStore, dag_id: str) -> dict[str, int]:
    """run_id -> backfill id, for the runs of ``dag_id`` that belong to a backfill."""
    return store.run_backfill_ids(dag_id)


def delete_backfills(store: BackfillStore, dag_id: str) -> int:
    """Delete every backfill of ``dag_id``; returns how many."""
    return store.delete_backfills(dag_id)
