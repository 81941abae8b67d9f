"""What every part of the scheduler shares: its state, and the one-transaction block.

:class:`~headwater.scheduler.scheduler.Scheduler` is assembled from small parts, each a class
over this state: :mod:`~headwater.scheduler.attempt_flow` (queueing attempts, applying what
the executor reports), :mod:`~headwater.scheduler.recovery` (what a stopped or killed
scheduler left, heartbeats), :mod:`~headwater.scheduler.scheduled_runs` (creating the runs
due on schedules), and :mod:`~headwater.scheduler.scheduler` itself (the loop, DAGs and
runs).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from headwater.authoring.weight_rule import effective_weights
from headwater.clock import Clock, SystemClock
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptKey, DagRun, TaskInstance, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.exceptions import StaleWriteError
from headwater.scheduler.dag_callbacks import DagCallbackProcesses
from headwater.scheduler.missing_dags import MissingDags
from headwater.scheduler.periodic_duties import PeriodicDuties, build_duties
from headwater.scheduler.run_claims import RunClaims, allows_several_schedulers
from headwater.scheduler.run_planning import DataInterval

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.executors.base import Executor
    from headwater.settings import Settings
    from headwater.store.ports import Store

log = logging.getLogger("headwater.scheduler.scheduler")

S = TaskInstanceState
LOST_REASON = "lost: the scheduler that ran it stopped; it runs again (not counted as a retry)"
STOPPED_REASON = (
    "stopped with the scheduler; it runs again when a scheduler starts (not counted as a retry)"
)


@dataclass
class KnownDag:
    dag: DAG
    source_hash: str
    fileloc: str
    is_paused: bool
    last_interval: DataInterval | None = None
    """The interval of the latest scheduled run (loaded from the database once)."""
    last_interval_known: bool = False
    stored_next: DataInterval | None = None

    uniform_priority: bool = True
    """Every task has the same priority weight: ready order is priority order."""

    def __post_init__(self) -> None:
        self.uniform_priority = len(set(effective_weights(self.dag).values())) <= 1


@dataclass(frozen=True)
class OthersUsage:
    """The pool slots and instances per DAG that other schedulers held (queued or running)
    when counted, at ``at``."""

    at: datetime
    pools: dict[str, int]
    dags: dict[str, int]


class Handed(NamedTuple):
    attempt: AttemptKey
    pool: str
    slots: int
    queued_at: datetime | None = None
    """When this scheduler queued it (None: adopted or put back after a restart)."""


@dataclass
class ActiveRun:
    engine: DagRunEngine
    waiting: dict[tuple[str, int], TaskInstanceKey] = field(default_factory=dict)
    """Instances that are SCHEDULED but not yet admitted (a pool or a limit is full)."""


class SchedulerState:
    """The state of one scheduler over one database and one executor."""

    def __init__(
        self,
        *,
        store: Store,
        executor_factory: Callable[[Any], Executor],
        settings: Settings,
        clock: Clock | None = None,
        several_schedulers: bool | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.hostname = socket.gethostname()
        self.xcoms = XComs.from_settings(store, settings)
        self.executor = executor_factory(self)
        self.job_id: int | None = None
        self.several_schedulers = (
            allows_several_schedulers(store) if several_schedulers is None else several_schedulers
        )
        """Whether other schedulers may run on this database (PostgreSQL): then this one
        drives only the runs it claims (:mod:`~headwater.scheduler.run_claims`)."""
        self._claims: RunClaims | None = None
        """This scheduler's run claims, once started, when :attr:`several_schedulers`."""
        self._others_alive = False
        """Whether another scheduler was alive at the last pass: then pools and
        ``max_active_tasks`` count what the others hold too (from the database)."""
        self._others_usage: OthersUsage | None = None
        """What the other schedulers held when last counted (``_count_the_others``)."""
        self._dags: dict[str, KnownDag] = {}
        self._defined_dag_ids: set[str] = set()
        """The DAGs some DAG file defines now (the active ones in the database)."""
        self._missing_dags = MissingDags(settings.scheduler.missing_dag_grace_s)
        self._runs: dict[tuple[str, str], ActiveRun] = {}
        self._active: dict[TaskInstanceKey, Handed] = {}
        """Instances queued or running through this scheduler: the attempt handed to the
        executor, and the pool slots it holds."""
        self._dirty: set[tuple[str, str]] = set()
        self._pools: dict[str, int] = {}
        self._warned_pools: set[str] = set()
        self._last_heartbeat: datetime | None = None
        self._callbacks = DagCallbackProcesses()
        self._queued_runs: set[tuple[str, str]] = set()
        """Runs left queued by the last pass (paused DAG, max_active_runs reached)."""
        self._pass_wanted = False
        """Whether :meth:`run` should start the next full pass now instead of on time."""
        self._deferred_actions: list[Callable[[], object]] | None = None
        """While a :meth:`_one_transaction` block runs: what waits for its commit."""
        self._undo_if_not_committed: list[Callable[[], object]] = []
        """What to undo if the current :meth:`_one_transaction` fails to commit."""
        self._triggers_ended = threading.Event()
        """Set by :meth:`~headwater.scheduler.deferrals.Deferrals.wake` (any thread): look
        for triggers that fired or failed on the loop's next turn."""
        self._store_writes: list[Callable[[Store], object]] = []
        """Writes to make in the unit of work of the current :meth:`_one_transaction`
        (deleting the trigger of a resumed instance, with the instance's write)."""
        self._recover_after_stale = False
        """A write was refused as stale: the next pass puts back what its runs left."""
        self._handed_before_drop: dict[TaskInstanceKey, Handed] = {}
        """What was handed to the executor when the runs were forgotten (the database
        connection dropped, a write was stale): the executor still holds those attempts
        (``_requeue_lost``)."""
        self.on_run_finished: Callable[[DagRun], None] | None = None
        self._duties = PeriodicDuties(build_duties(self))
        """Deadlines, retention, metrics: checked as time passes (periodic_duties)."""
        """Told about each run this scheduler ended (the terminal of ``standalone``)."""

    # -- life cycle ----------------------------------------------------------------------------

    def _renew_claims(self, now: datetime, *, when_due: bool = False) -> None:
        """Renew this scheduler's run claims: :class:`~headwater.scheduler.shared_work.SharedWork`
        does it (with the heartbeat); nothing to do alone on a database."""

    def _kill(self, ti_key: TaskInstanceKey) -> None:
        """Stop the attempt of ``ti_key`` handed to the executor, if there is one."""
        handed = self._active.pop(ti_key, None)
        if handed is not None:
            self.executor.kill(handed.attempt)

    @contextlib.contextmanager
    def _one_transaction(self) -> Iterator[None]:
        """Make what the block decides about the active runs one transaction: the engines
        keep their changes until the block ends, then write them in one unit of work, and
        only then does anything act on them (attempts go to the executor, DAG callbacks
        start). Three transactions per task on the critical path: the worker's claim and
        outcome, and this one (the attempt's start and end, and what that made ready)."""
        if self._deferred_actions is not None:
            yield  # already inside one
            return
        engines = [active.engine for active in self._runs.values()]
        for engine in engines:
            engine.defer_writes()
        actions: list[Callable[[], object]] = []
        self._deferred_actions, self._undo_if_not_committed = actions, []
        try:
            yield
        except BaseException:
            # What was decided before the error stays decided, and is acted on.
            self._commit_then_act(engines, actions)
            raise
        self._commit_then_act(engines, actions)

    def _commit_then_act(
        self, engines: list[DagRunEngine], actions: list[Callable[[], object]]
    ) -> None:
        """Write the engines' changes in one unit of work, then do what waited for it. If the
        write fails, nothing acts on it, and what assumed it would happen is undone (an
        attempt counted as handed to the executor that never got it): the connection may
        have dropped after the server committed, and then the next pass finds the instance
        queued by nobody and puts it back."""
        self._deferred_actions = None
        undo, self._undo_if_not_committed = self._undo_if_not_committed, []
        try:
            self._flush(engines)
        except BaseException as exc:
            for action in undo:
                action()
            if isinstance(exc, StaleWriteError):
                self._reload_after_stale(exc)  # nothing acts on what was not committed
                return
            raise
        for action in actions:
            action()

    def _flush(self, engines: list[DagRunEngine]) -> None:
        writes, self._store_writes = self._store_writes, []
        with self.store.unit_of_work() as uow:
            for engine in engines:
                engine.flush(uow)
            for write in writes:
                write(uow)

    def _write_with_transaction(self, write: Callable[[Store], object]) -> None:
        """Make ``write`` in the unit of work of the current :meth:`_one_transaction` (with
        the engines' writes: both or neither), or now outside one."""
        if self._deferred_actions is None:
            write(self.store)
        else:
            self._store_writes.append(write)

    def _reload_after_stale(self, exc: StaleWriteError) -> None:
        """Someone else changed a task instance this scheduler holds (a person marking it,
        another writer): what it decided is rolled back, so it forgets its runs and the next
        pass loads them again from the database, then puts back what that left behind (an
        attempt that ended meanwhile is applied from its recorded outcome)."""
        log.warning("%s: the runs are loaded again from the database", exc)
        self._forget_runs()

    def _forget_runs(self) -> None:
        """Forget every run (its attempts go on): the next pass, wanted at once, loads them
        again from the database and puts back what they left behind. The attempts handed to
        the executor are remembered: it still holds them, and one still queued in it (or in a
        broker) must not be put back as lost and sent a second time (``_requeue_lost``)."""
        self._handed_before_drop.update(self._active)
        for key in list(self._runs):
            self._drop_run(key, kill=False)
        self._recover_after_stale = True
        self._pass_wanted = True

    def _started_from_claim(
        self, engine: DagRunEngine, ti: TaskInstance, key: AttemptKey
    ) -> TaskInstance:
        """``ti``, started from its worker's claim of attempt ``key`` when there is one: an
        attempt whose start was never applied (its scheduler died, or the database connection
        dropped before the start was committed and the runs were loaded again); its claim says
        when and where it started."""
        claim = self.store.get_attempt(key)
        if claim is None:
            return ti
        engine.start_attempt(
            ti.task_id,
            ti.map_index,
            claim.start_date,
            hostname=claim.hostname,
            pid=claim.pid,
            log_path=claim.log_path,
            claimed=True,
        )
        return engine.get_ti(ti.task_id, ti.map_index)

    def _drop_run(self, key: tuple[str, str], *, kill: bool) -> None:
        self._runs.pop(key, None)
        self._dirty.discard(key)
        for ti_key in [k for k in self._active if (k.dag_id, k.run_id) == key]:
            if kill:
                self._kill(ti_key)
            self._active.pop(ti_key, None)

    def _after_commit(
        self,
        action: Callable[[], object],
        *,
        undo_if_not_committed: Callable[[], object] | None = None,
    ) -> None:
        """Do ``action`` now, or once the current :meth:`_one_transaction` committed (if
        its write fails, ``undo_if_not_committed`` instead)."""
        if self._deferred_actions is None:
            action()
            return
        self._deferred_actions.append(action)
        if undo_if_not_committed is not None:
            self._undo_if_not_committed.append(undo_if_not_committed)

    @property
    def handed_out_limit(self) -> int:
        """The most attempts queued or running through this scheduler: ``parallelism``
        plus what its executor holds queued ahead for its workers."""
        return self.settings.scheduler.parallelism + self.executor.queued_ahead

    def execution_timeout_s(self, key: TaskInstanceKey) -> float | None:
        known = self._dags.get(key.dag_id)
        if known is None or key.task_id not in known.dag.task_dict:
            return None
        timeout = known.dag.task_dict[key.task_id].execution_timeout
        return timeout.total_seconds() if timeout else None
