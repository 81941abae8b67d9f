"""The store's port for data retention: finding and deleting old runs and events in batches.

``headwater db clean`` and the scheduler's daily clean-up (``[retention]``) drive it through
:func:`headwater.scheduler.retention_sweep.sweep`, a batch of runs per call, each call one
short transaction, so the scheduler is never locked out for long.

What a clean-up may remove (**removable runs**): runs that finished (``success`` or
``failed``) before the cutoff (their end date, or their logical date when they have none),
except the newest run of each DAG (by logical date) and its newest scheduled run (by data
interval): the scheduler finds the last interval it scheduled from that run, so removing it
would make a DAG with ``catchup=True`` create its old runs again. Runs that are queued or
running are never removed, nor are DAGs, users, pools, variables or connections.

A removed run takes with it every row of :data:`RUN_TABLES` (task instances, attempts, XComs,
triggers, the asset events it consumed, its deadlines and task state, its events); a backfill
goes with the last of its runs. Apart from runs, old **events** whose run is gone (or that
name none) and old **asset events** that no kept run consumed, that no DAG still waits for,
and that are not their asset's newest, are removed too.

Relations::

    dag_runs (dag_id, run_id) ◀── RUN_TABLES: xcoms, task_attempts, triggers,
                                  dag_run_asset_events, deadlines, task_state_store,
                                  task_instances, events
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

RunKey = tuple[str, str]
"""``(dag_id, run_id)``."""

RUN_TABLES: tuple[str, ...] = (
    "xcoms",
    "task_attempts",
    "triggers",
    "dag_run_asset_events",
    "deadlines",
    "task_state_store",
    "task_instances",
    "events",
)
"""The tables whose rows belong to a run, keyed by ``(dag_id, run_id)``, deleted (children
first) with the run. A new table of a run's rows is one more name here (and in the memory
store's :data:`~headwater.store.memory.retention.RUN_ROW_REMOVERS`)."""

RUNS_TABLE = "dag_runs"
EVENTS_TABLE = "events"
ASSET_EVENTS_TABLE = "asset_events"
BACKFILLS_TABLE = "backfills"
TASK_STATE_TABLE = "task_state_store"
"""Also swept for rows whose expiry passed, whatever their run's age."""


class RetentionStore(ABC):
    """Old runs, events and asset events, found and deleted a batch at a time."""

    @abstractmethod
    def removable_runs(
        self, cutoff: datetime, *, dag_id: str | None, after: RunKey | None, limit: int
    ) -> list[RunKey]:
        """Up to ``limit`` removable runs (see the module) that finished before ``cutoff``,
        of ``dag_id`` only when given, ordered by ``(dag_id, run_id)`` after ``after``."""

    @abstractmethod
    def count_run_rows(self, runs: Sequence[RunKey]) -> dict[str, int]:
        """How many rows of ``dag_runs`` and of each of :data:`RUN_TABLES` belong to
        ``runs`` (a dry run's counts)."""

    @abstractmethod
    def delete_runs(self, runs: Sequence[RunKey]) -> dict[str, int]:
        """Delete ``runs`` with their rows of :data:`RUN_TABLES`, and the backfills left
        without a run, in one transaction; returns the rows deleted per table."""

    @abstractmethod
    def old_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        """Ids (ascending, above ``after``) of up to ``limit`` events older than ``cutoff``
        that belong to no stored run (``run_id`` null, or its run is gone); of ``dag_id``
        only when given."""

    @abstractmethod
    def delete_events(self, event_ids: Sequence[int]) -> int:
        """Delete these events; returns how many went."""

    @abstractmethod
    def old_asset_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        """Ids (ascending, above ``after``) of up to ``limit`` asset events older than
        ``cutoff`` that no run outside the removable ones consumed, no DAG waits for (still
        queued), and that are not their asset's newest; of those ``dag_id`` emitted only when
        given. The same before and after the removable runs are deleted."""

    @abstractmethod
    def delete_asset_events(self, event_ids: Sequence[int]) -> int:
        """Delete these asset events; returns how many went."""
