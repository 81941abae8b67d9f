"""The store's ports beyond the engine's: what the scheduler, the DAG processor and the
operations read and write, one small interface per concern.

=================== ==========================================================================
port                what
=================== ==========================================================================
``RunQueries``      runs and instances across DAGs: by state, by date, counts, delete a run
``AttemptLiveness`` running attempts, their heartbeats and workers
``DagCatalog``      DAG files, serialized DAGs with their scheduling state, import errors
``PoolStore``       pools (:mod:`headwater.store.config`)
``VariableStore``   variables and connections (:mod:`headwater.store.config`)
``EventLog``        the log of what people did (trigger, clear, pause, delete, backfill)
``JobStore``        schedulers, DAG processors and workers, with their heartbeats
``BackfillStore``   backfills and which runs belong to them
``ClaimStore``      which scheduler owns which run (a lease), for several schedulers
``BrowseQueries``   what the REST API and web UI list: DAGs without their structure, a page of
                    runs with filters, the latest runs of many DAGs in one statement
``UserStore``       users, roles, API tokens, sessions and failed logins (REST API and UI;
                    :mod:`headwater.store.users`)
``TriggerStore``    triggers of deferred attempts (:mod:`headwater.store.triggers`)
``AssetStore``      assets, their events, and the DAGs they trigger (:mod:`headwater.store.assets`)
``DeadlineStore``   run deadlines, task SLAs, their misses (:mod:`headwater.store.deadlines`)
``MetricsCounts``   grouped counts for ``/metrics`` (:mod:`headwater.store.metrics`)
``StateStore``      task-instance and asset state, JSON by key (Airflow's AIP-103;
                    :mod:`headwater.store.state_stores`)
=================== ==========================================================================

:class:`Store` is every port together with the engine's
(:class:`~headwater.store.base.MetadataStore`), and :meth:`Store.unit_of_work`, a transaction
over all of them::

    with store.unit_of_work() as uow:      # one transaction: all of it or nothing
        uow.save_dag_run(run)
        uow.record_event("clear", at=now, dag_id=run.dag_id, run_id=run.run_id)

:class:`~headwater.store.memory.MemoryStore` and :class:`~headwater.store.sql.SqlStore`
implement :class:`Store`; ``tests/contract/test_store_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from headwater.clock import Clock
from headwater.db.rows import (
    AttemptHeartbeat,
    AttemptKey,
    BackfillRow,
    DagFileRow,
    DagRow,
    DagVersionRow,
    EventRow,
    ImportErrorRow,
    JobRow,
    RunClaim,
    RunSummaryRow,
)
from headwater.engine.records import DagRun, TaskAttempt, TaskInstance, TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.assets import AssetStore
from headwater.store.base import MetadataStore
from headwater.store.config import PoolStore, VariableStore
from headwater.store.deadlines import DeadlineStore
from headwater.store.metrics import MetricsCounts
from headwater.store.retention import RetentionStore
from headwater.store.state_stores import StateStore
from headwater.store.triggers import TriggerStore
from headwater.store.users import UserStore

__all__ = [
    "AttemptLiveness",
    "BackfillStore",
    "BrowseQueries",
    "ClaimStore",
    "DagCatalog",
    "EventLog",
    "JobStore",
    "RunQueries",
    "StateStore",
    "Store",
    "UserStore",
]


RUN_BATCH = 2_000
"""Runs a batched run creation writes per statement (their instances follow in one more)."""


class RunQueries(ABC):
    """Runs and task instances across DAGs (the engine's port reads one run at a time)."""

    @abstractmethod
    def create_dag_runs(self, runs: Iterable[tuple[DagRun, Iterable[TaskInstance]]]) -> int:
        """Store many new runs, each with its task instances, in batched writes (for
        backfills of many partitions: a few statements per :data:`RUN_BATCH` runs, never
        one round trip per run); returns how many. All or nothing inside a unit of work:
        a run id already taken raises ``ValueError`` naming it (a SQL store's own
        transaction has then written nothing either)."""

    @abstractmethod
    def get_dag_runs_by_state(self, states: Iterable[DagRunState | str]) -> list[DagRun]:
        """Runs of every DAG in ``states``, oldest logical date first (then DAG, run id)."""

    @abstractmethod
    def run_keys_in_state(self, state: DagRunState | str) -> set[tuple[str, str]]:
        """``(dag_id, run_id)`` of every run in ``state``: a cheap look for new runs."""

    @abstractmethod
    def find_dag_run(
        self, dag_id: str, logical_date: datetime, run_type: str | None = None
    ) -> list[DagRun]:
        """The runs of ``dag_id`` at exactly ``logical_date`` (of ``run_type``), by run id."""

    @abstractmethod
    def delete_dag_run(self, dag_id: str, run_id: str) -> bool:
        """Delete a run with its task instances, attempts and XComs; False if there was none."""

    @abstractmethod
    def count_active_runs(self, dag_id: str) -> int:
        """How many runs of ``dag_id`` are queued or running."""

    @abstractmethod
    def list_dag_runs_before(
        self, dag_id: str, before: datetime | None, limit: int
    ) -> list[DagRun]:
        """The newest ``limit`` runs of ``dag_id`` with a logical date before ``before`` (all
        when None), oldest first (then by run id): a page of the grid, read by the index on
        ``(dag_id, logical_date)`` however long the history."""

    @abstractmethod
    def get_task_instances_of_runs(self, dag_id: str, run_ids: Iterable[str]) -> list[TaskInstance]:
        """The task instances of the runs ``run_ids`` of ``dag_id`` in one query (by the
        primary key's prefix), by run id, task id and map index."""

    @abstractmethod
    def get_task_instance_queued_at(
        self, dag_id: str, run_id: str
    ) -> dict[tuple[str, int], datetime]:
        """``(task_id, map_index)`` -> when that instance of the run last became queued,
        for those that ever were (the Gantt chart's lighter part of a bar)."""

    @abstractmethod
    def get_task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> TaskInstance | None: ...

    @abstractmethod
    def task_instance_queued_at(self, key: TaskInstanceKey) -> datetime | None:
        """When the instance was last written queued (by the store's clock), kept after it
        moves on; None when it never was or does not exist. The attempt page's "queued"."""

    @abstractmethod
    def count_tis_by_pool(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        """Pool name -> slots held by instances in ``states`` (the sum of their pool_slots)."""

    @abstractmethod
    def count_tis_by_dag(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        """DAG id -> number of its instances in ``states``."""


class AttemptLiveness(ABC):
    """Running attempts and how to tell a dead one."""

    @abstractmethod
    def running_attempts(self) -> list[TaskAttempt]:
        """Every attempt still marked running, in all runs, by start date."""

    @abstractmethod
    def attempt_heartbeats(self) -> dict[AttemptKey, AttemptHeartbeat]:
        """Last heartbeat and worker of every running attempt (a new one's is its start)."""

    @abstractmethod
    def heartbeat_attempts(
        self, keys: Iterable[tuple[str, str, str, int, int]], now: datetime
    ) -> None:
        """Record that attempts ``keys`` (dag, run, task, map index, try) live at ``now``."""

    @abstractmethod
    def set_attempt_worker(self, key: tuple[str, str, str, int, int], worker: str) -> bool:
        """Record which executor or worker runs the attempt ``key``; False if no such attempt."""


class DagCatalog(ABC):
    """DAG files, DAGs and import errors: what the DAG processor writes."""

    @abstractmethod
    def upsert_dag_file(
        self, path: str, source_hash: str, mtime: float, dag_ids: Iterable[str], now: datetime
    ) -> None:
        """Record that ``path`` was parsed at ``now`` and defines ``dag_ids``."""

    @abstractmethod
    def get_dag_files(self) -> dict[str, DagFileRow]: ...

    @abstractmethod
    def delete_dag_file(self, path: str) -> bool: ...

    @abstractmethod
    def upsert_dag(self, row: DagRow) -> None:
        """Create or update a DAG from a parse; an existing row keeps ``is_paused`` and the
        ``next_dagrun_*`` fields (a re-parse never unpauses a DAG or moves its schedule)."""

    @abstractmethod
    def get_dag(self, dag_id: str) -> DagRow | None:
        """One DAG with its serialized structure; None if the DAG is unknown."""

    @abstractmethod
    def list_dags(self, include_inactive: bool = False) -> list[DagRow]:
        """DAGs by id; those no file defines any more only with ``include_inactive``."""

    @abstractmethod
    def list_dag_versions(self) -> list[DagVersionRow]:
        """The active DAGs by id, each with its source hash, file and pause flag only: a
        scheduler pass reads this every ``loop_interval_s``, so it reads no serialized DAG
        (fetch the one whose hash changed with :meth:`get_dag`)."""

    @abstractmethod
    def set_dag_paused(self, dag_id: str, paused: bool) -> bool:
        """Pause or unpause a DAG; False if the DAG is unknown."""

    @abstractmethod
    def deactivate_dags(self, dag_ids: Iterable[str]) -> int:
        """Mark DAGs no file defines any more as inactive; returns how many changed."""

    @abstractmethod
    def set_next_dagrun(
        self,
        dag_id: str,
        logical_date: datetime | None,
        interval_start: datetime | None,
        interval_end: datetime | None,
        create_after: datetime | None,
    ) -> bool:
        """Store when the DAG's next scheduled run is due; False if the DAG is unknown."""

    @abstractmethod
    def delete_dag(self, dag_id: str) -> dict[str, int]:
        """Delete a DAG with its runs, task instances, attempts and XComs; how many rows went
        from each table (``{"xcoms": 0, "task_attempts": 0, "task_instances": 0, "dag_runs":
        0, "dags": 1}``)."""

    @abstractmethod
    def set_import_errors(self, filename: str, errors: Iterable[ImportErrorRow]) -> None:
        """Replace the import errors of ``filename`` with ``errors`` (none clears them)."""

    @abstractmethod
    def clear_import_errors(self, filename: str) -> None: ...

    @abstractmethod
    def list_import_errors(self) -> list[ImportErrorRow]:
        """Every import error, by file, in the order they were given."""


class EventLog(ABC):
    """What people did, for people to read."""

    @abstractmethod
    def record_event(
        self,
        kind: str,
        *,
        at: datetime,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        map_index: int | None = None,
        try_number: int | None = None,
        state: str | None = None,
        detail: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Append an entry ('trigger', 'clear', ...) done by ``actor`` (a username,
        ``cli:<OS user>``, None for the scheduler); returns its id (ids only grow)."""

    @abstractmethod
    def list_events(
        self,
        dag_id: str | None = None,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int | None = 100,
    ) -> list[EventRow]:
        """The newest ``limit`` events (all with None) matching the filters, oldest first."""

    @abstractmethod
    def page_events(
        self,
        *,
        dag_ids: Iterable[str] | None = None,
        kind: str | None = None,
        actor: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[EventRow], int]:
        """One page of the events matching the filters, newest first (from ``offset``, at
        most ``limit``), and how many match in all: for people browsing the log.
        ``dag_ids`` None: any DAG or none; a collection: only events of those DAGs (an empty
        one matches nothing). ``actor``: only what that user did (events recorded without
        one, before actors were recorded or by the scheduler, match no actor)."""


class JobStore(ABC):
    """Running schedulers, DAG processors and workers."""

    @abstractmethod
    def start_job(self, kind: str, hostname: str, pid: int, now: datetime) -> int:
        """Register a job; returns its id."""

    @abstractmethod
    def heartbeat_job(self, job_id: int, now: datetime) -> bool: ...

    @abstractmethod
    def end_job(self, job_id: int, now: datetime) -> bool: ...

    @abstractmethod
    def list_jobs(
        self, kind: str | None = None, alive_since: datetime | None = None
    ) -> list[JobRow]:
        """Jobs, oldest first; with ``alive_since``, only those not ended that heartbeat since."""


class BackfillStore(ABC):
    """Backfills; a run belongs to at most one."""

    @abstractmethod
    def create_backfill(
        self,
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

    @abstractmethod
    def get_backfill(self, backfill_id: int) -> BackfillRow | None: ...

    @abstractmethod
    def complete_backfill(self, backfill_id: int, completed_at: datetime) -> bool:
        """Set the backfill's ``completed_at`` if it has none; False if it had one already
        or there is no such backfill (compare-and-set: of two cancels, one wins)."""

    @abstractmethod
    def list_backfills(self, dag_id: str | None = None) -> list[BackfillRow]:
        """Backfills (of ``dag_id``, or all), oldest first."""

    @abstractmethod
    def set_runs_backfill(
        self, dag_id: str, run_ids: Iterable[str], backfill_id: int | None
    ) -> int:
        """Mark runs of ``dag_id`` as belonging to ``backfill_id``; returns how many."""

    @abstractmethod
    def backfill_limits(self) -> dict[int, int]:
        """Backfill id -> its ``max_active_runs``, for each backfill with an active run."""

    @abstractmethod
    def active_backfill_runs(self) -> dict[tuple[str, str], int]:
        """(dag_id, run_id) -> backfill id, for every queued or running run of a backfill."""

    @abstractmethod
    def run_backfill_ids(self, dag_id: str) -> dict[str, int]:
        """run_id -> backfill id, for the runs of ``dag_id`` that belong to a backfill."""

    @abstractmethod
    def delete_backfills(self, dag_id: str) -> int:
        """Delete every backfill of ``dag_id``; returns how many."""


class ClaimStore(ABC):
    """Which scheduler owns which active run: a lease, for several schedulers on one database.

    A run is claimable when it is queued or running and nobody holds a live lease on it (no
    claim, or one that expired: a scheduler that died loses its runs when its leases end).
    """

    @abstractmethod
    def claim_runs(
        self, owner: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[tuple[str, str]]:
        """Claim up to ``limit`` claimable runs for ``owner`` until ``now + lease``, oldest
        logical date first; returns their ``(dag_id, run_id)``. Runs ``owner`` holds already
        are not returned (:meth:`renew_run_claims` keeps them). Concurrent callers never get
        the same run."""

    @abstractmethod
    def renew_run_claims(self, owner: str, now: datetime, lease: timedelta) -> set[tuple[str, str]]:
        """Extend every lease ``owner`` still holds to ``now + lease``; returns those runs
        (a run taken over by another owner is not among them)."""

    @abstractmethod
    def release_run_claims(self, owner: str, runs: Iterable[tuple[str, str]] | None = None) -> int:
        """Give up ``owner``'s claims on ``runs`` (all of them with None); how many."""

    @abstractmethod
    def get_run_claim(self, dag_id: str, run_id: str) -> RunClaim | None:
        """Who holds the run and until when; None if nobody ever claimed it or it was
        released (an expired claim is returned: its ``expires_at`` says so)."""


class BrowseQueries(ABC):
    """What people browse (the REST API, the web UI): reads shaped so a page of a long
    history costs a few indexed statements, whatever the history's size."""

    @abstractmethod
    def list_dag_headers(self, include_inactive: bool = False) -> list[DagRow]:
        """DAGs by id, as :meth:`DagCatalog.list_dags` gives them but with ``serialized``
        None (not even read: it is the large column, and a list shows none of it)."""

    @abstractmethod
    def page_dag_runs(
        self,
        dag_id: str,
        *,
        states: Iterable[DagRunState | str] | None = None,
        run_types: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[DagRun], int]:
        """Runs of ``dag_id`` newest logical date first (then run id, last first), in
        ``states`` and ``run_types`` if given, with ``start <= logical_date <= end``: those
        from ``offset`` on, at most ``limit``, and how many match in all."""

    @abstractmethod
    def latest_dag_runs(
        self, dag_ids: Iterable[str], per_dag: int
    ) -> dict[str, list[RunSummaryRow]]:
        """The newest ``per_dag`` runs of each of ``dag_ids`` (by logical date, then run
        id), oldest first, as summaries; a DAG without runs maps to an empty list."""


class Store(
    MetadataStore,
    RunQueries,
    AttemptLiveness,
    DagCatalog,
    PoolStore,
    VariableStore,
    EventLog,
    JobStore,
    BackfillStore,
    ClaimStore,
    BrowseQueries,
    UserStore,
    TriggerStore,
    AssetStore,
    RetentionStore,
    DeadlineStore,
    MetricsCounts,
    StateStore,
):
    """Every port: the engine's (:class:`MetadataStore`) and those above, and units of work.

    ``clock`` is the store's clock (it times ``queued_at``/``updated_at`` on SQL; operations
    read ``now`` from it).
    """

    clock: Clock

    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager[Store]:
        """A transaction over every port: what is written through the yielded store is
        committed together when the block ends, or not at all when it raises. Inside a unit
        of work, ``unit_of_work()`` joins it (so operations compose)."""

    def close(self) -> None:
        """Release what the store holds (connections); a no-op by default."""
