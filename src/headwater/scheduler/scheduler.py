"""The scheduler: creates runs on schedule and feeds ready task instances to an executor.

It works from the database: DAG structure comes from the serialized DAGs the DAG-folder
processor stored, and every run is driven by the same engine as ``dags test``
(:class:`~headwater.engine.dagrun.DagRunEngine`), one per active run, kept in memory while
the run is active. Only the scheduler changes task-instance states; workers run attempts and
report outcomes, which the scheduler applies (committing each change before acting on it).

The critical path is event driven: :meth:`Scheduler.run` waits on the executor, and when an
attempt ends its run is scheduled again at once, so ready downstream tasks are queued without
waiting for the next loop tick. The full pass (:meth:`Scheduler.tick`) creates runs, starts
queued runs, times runs out and checks heartbeats; tests call it directly with a fake clock.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from headwater.clock import Clock, SystemClock
from headwater.db.errors import DamagedDatabaseError
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.exceptions import HeadwaterError
from headwater.executors.base import AttemptStarted
from headwater.executors.messages import AttemptMessage
from headwater.runtime.logs import append_attempt_line, attempt_log_path
from headwater.scheduler.admission import Candidate, Capacity, admit, candidate_order
from headwater.scheduler.attempt_recovery import end_lost_attempt, settle_outcome
from headwater.scheduler.dag_callbacks import DagCallbackProcesses
from headwater.scheduler.missing_dags import MissingDags, engine_without_dag_file
from headwater.scheduler.run_planning import DataInterval, next_scheduled_interval
from headwater.xcom_serializers import load_serializer

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.executors.base import Executor
    from headwater.settings import Settings
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

S = TaskInstanceState
ACTIVE_RUN_STATES = (DagRunState.QUEUED, DagRunState.RUNNING)
LOST_REASON = "lost: the scheduler that ran it stopped; it runs again (not counted as a retry)"
STOPPED_REASON = (
    "stopped with the scheduler; it runs again when a scheduler starts (not counted as a retry)"
)


@dataclass
class _KnownDag:
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
        self.uniform_priority = len({t.priority_weight for t in self.dag.task_dict.values()}) <= 1


class _Handed(NamedTuple):
    attempt: AttemptKey
    pool: str
    slots: int


@dataclass
class _ActiveRun:
    engine: DagRunEngine
    waiting: dict[tuple[str, int], TaskInstanceKey] = field(default_factory=dict)
    """Instances that are SCHEDULED but not yet admitted (a pool or a limit is full)."""


class Scheduler:
    """One scheduler over one database and one executor."""

    def __init__(
        self,
        *,
        store: Store,
        executor_factory: Callable[[Scheduler], Executor],
        settings: Settings,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.hostname = socket.gethostname()
        self.xcoms = XComs(
            store, load_serializer(settings.xcom.serializer), settings.xcom.max_size_bytes
        )
        self.executor = executor_factory(self)
        self.job_id: int | None = None
        self._dags: dict[str, _KnownDag] = {}
        self._defined_dag_ids: set[str] = set()
        """The DAGs some DAG file defines now (the active ones in the database)."""
        self._missing_dags = MissingDags(settings.scheduler.missing_dag_grace_s)
        self._runs: dict[tuple[str, str], _ActiveRun] = {}
        self._active: dict[TaskInstanceKey, _Handed] = {}
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
        self.on_run_finished: Callable[[DagRun], None] | None = None
        """Told about each run this scheduler ended (the terminal of ``standalone``)."""

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Register this scheduler, put back what a stopped one left, start the executor."""
        now = self.clock.now()
        self._refuse_a_second_scheduler(now)
        self.job_id = self.store.start_job("scheduler", self.hostname, os.getpid(), now)
        self.executor.start()
        self._refresh_dags()
        self._load_active_runs(self._active_runs_in_store())
        self._requeue_lost(now)

    def _refuse_a_second_scheduler(self, now: datetime) -> None:
        """One scheduler per database for now: another one alive would take this one's
        running attempts for lost ones. A scheduler whose process is gone does not count."""
        since = now - timedelta(seconds=self.settings.scheduler.task_heartbeat_timeout_s)
        for job in self.store.list_jobs(kind="scheduler", alive_since=since):
            if job.hostname == self.hostname and not _process_exists(job.pid):
                continue
            raise HeadwaterError(
                f"another scheduler is running on this database (pid {job.pid} on "
                f"{job.hostname}, last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S}); "
                "stop it first: headwater runs one scheduler per database"
            )

    def stop(self) -> None:
        """Stop the executor and the DAG callbacks, and record what that cut short.

        Attempts that ended before the workers stopped are applied; each attempt the stop
        cut short ends FAILED with :data:`STOPPED_REASON` (also the last line of its log)
        and its instance goes back to SCHEDULED with one more try, as a lost one would: the
        next scheduler runs it again without counting a retry. Committed before returning.
        """
        try:
            finished = self.executor.stop() or []
            try:
                self.apply_outcomes(finished)
                self._put_back_stopped(self.clock.now())
            except DamagedDatabaseError as exc:  # said once, by whoever stopped the loop
                log.error("Could not record the attempts stopped with the scheduler: %s", exc)
            except Exception:
                log.exception(
                    "Could not record the attempts stopped with the scheduler; the next "
                    "scheduler finds them lost"
                )
        finally:
            self._callbacks.stop()
            if self.job_id is not None:
                with contextlib.suppress(DamagedDatabaseError):  # the loop's error says it
                    self.store.end_job(self.job_id, self.clock.now())
                self.job_id = None

    def _put_back_stopped(self, now: datetime) -> None:
        """Instances queued or running through this scheduler, which is stopping, go back
        to SCHEDULED (their attempt, if one started, ends FAILED: stopped)."""
        for key in list(self._active):
            del self._active[key]
            active = self._runs.get((key.dag_id, key.run_id))
            if active is None:
                continue
            ti = active.engine.get_ti(key.task_id, key.map_index)
            if ti.state not in (S.QUEUED, S.RUNNING):
                continue
            started = ti.state is S.RUNNING
            if end_lost_attempt(self.store, active.engine, ti, now, STOPPED_REASON):
                continue  # it had ended and recorded how: applied, not run again
            active.waiting[(ti.task_id, ti.map_index)] = ti.key
            if started:
                path = attempt_log_path(self.settings.logs_folder, key, ti.try_number)
                try:
                    append_attempt_line(
                        path, logging.ERROR, f"Attempt {ti.try_number}: {STOPPED_REASON}"
                    )
                except OSError as exc:
                    log.warning("Could not write to the log %s: %s", path, exc)
                log.warning(
                    "Task %s of run %s was stopped with the scheduler; it runs again when a "
                    "scheduler starts",
                    key.label,
                    key.run_id,
                )

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Loop until ``should_stop()``: full passes every ``loop_interval_s``, and between
        them, apply attempts as they end and queue what they made ready at once. A run queued
        from elsewhere (a trigger, a backfill, a clear), or one that may start because another
        ended, brings the next full pass forward."""
        interval = self.settings.scheduler.loop_interval_s
        check_every = self.settings.scheduler.new_run_check_interval_s
        self.start()
        try:
            while not should_stop():
                self.tick()
                deadline = self.clock.now() + timedelta(seconds=interval)
                next_check = self.clock.now() + timedelta(seconds=check_every)
                while not should_stop() and not self._pass_wanted:
                    now = self.clock.now()
                    if now >= deadline:
                        break
                    wait = (deadline - now).total_seconds()
                    if check_every > 0:
                        wait = min(wait, max((next_check - now).total_seconds(), 0.0))
                    due = self._next_retry_due()
                    if due is not None:
                        wait = min(wait, max((due - now).total_seconds(), 0.0))
                    finished = self.executor.poll(timeout=wait)
                    with self._one_transaction():
                        self.apply_outcomes(finished)  # and the attempts started meanwhile
                        if finished:
                            self.schedule_runs(self.clock.now())
                        elif due is not None and self.clock.now() >= due:
                            # A retry falling due after its run's dagrun_timeout does not start.
                            self._time_out_runs(self.clock.now())
                            self.schedule_runs(self.clock.now(), everything=True)
                    if check_every > 0 and self.clock.now() >= next_check:
                        next_check = self.clock.now() + timedelta(seconds=check_every)
                        self._pass_wanted = self._pass_wanted or self._new_runs_queued()
        finally:
            self.stop()

    def _new_runs_queued(self) -> bool:
        """Whether a run was queued since the last pass (by the CLI, the API, a backfill)."""
        return bool(self.store.run_keys_in_state(DagRunState.QUEUED) - self._queued_runs)

    # -- one full pass ---------------------------------------------------------------------------

    def tick(self) -> None:
        """Everything the scheduler does, once: DAGs, runs, queueing, timeouts, heartbeats."""
        now = self.clock.now()
        from headwater.store.backfills import active_backfill_runs

        self._refresh_dags()
        self._refresh_pools()
        backfill_of = active_backfill_runs(self.store)
        self._create_scheduled_runs(now, self._active_runs_in_store(), backfill_of)
        stored = self._active_runs_in_store()  # with the runs just created
        self._load_active_runs(stored)
        self._start_queued_runs(now, stored, backfill_of)
        self._end_runs_of_missing_dags(now, stored)
        self._pass_wanted = False
        with self._one_transaction():
            self._time_out_runs(now)
            self.schedule_runs(now, everything=True)
        self._heartbeat(now)

    # -- DAGs ----------------------------------------------------------------------------------

    def _refresh_dags(self) -> None:
        """Follow the stored DAGs: the pass reads each one's version (hash, file, pause flag)
        and fetches and rebuilds only a DAG that is new or whose hash changed, so an idle
        pass reads no serialized DAG."""
        from headwater.dag_processing.serialized_dag import deserialize_dag

        seen = set()
        for version in self.store.list_dag_versions():
            seen.add(version.dag_id)
            known = self._dags.get(version.dag_id)
            if version.source_hash is None or version.fileloc is None:
                continue
            if known is None or known.source_hash != version.source_hash:
                # The row read now may be newer than the version listed: keep what it says.
                row = self.store.get_dag(version.dag_id)
                if row is None or row.serialized is None:
                    continue
                if row.source_hash is None or row.fileloc is None:
                    continue
                try:
                    dag = deserialize_dag(row.serialized)
                except HeadwaterError as exc:
                    log.error("DAG %s cannot be loaded from the database: %s", row.dag_id, exc)
                    continue
                self._dags[row.dag_id] = _KnownDag(dag, row.source_hash, row.fileloc, row.is_paused)
                # A changed DAG file: engines of its active runs use the new structure.
                for key, active in list(self._runs.items()):
                    if key[0] == row.dag_id:
                        self._reload_run(active.engine.run, dag)
            else:
                known.is_paused = version.is_paused
        for dag_id in set(self._dags) - seen:
            del self._dags[dag_id]
        self._defined_dag_ids = seen

    def _refresh_pools(self) -> None:
        self._pools = {pool.name: pool.slots for pool in self.store.list_pools()}

    # -- runs ----------------------------------------------------------------------------------

    def _active_runs_in_store(self) -> list[DagRun]:
        return self.store.get_dag_runs_by_state(ACTIVE_RUN_STATES)

    def _create_scheduled_runs(
        self, now: datetime, stored: list[DagRun], backfill_of: Mapping[tuple[str, str], int]
    ) -> None:
        # Backfill runs have their own limit: they do not hold back scheduled runs.
        active_runs = Counter(r.dag_id for r in stored if (r.dag_id, r.run_id) not in backfill_of)
        for dag_id, known in self._dags.items():
            if not known.last_interval_known:
                known.last_interval = self._last_scheduled_interval(dag_id)
                known.last_interval_known = True
            active = active_runs[dag_id]
            while True:
                nxt = next_scheduled_interval(known.dag, known.last_interval, now)
                # A paused DAG gets no runs, but its next run is still stored (Airflow's
                # next_dagrun): `dags list` shows what it would run once unpaused.
                if (
                    nxt is None
                    or known.is_paused
                    or nxt.create_after > now
                    or active >= known.dag.max_active_runs
                ):
                    break
                self._create_run(known.dag, nxt)
                known.last_interval = nxt
                active += 1
            if nxt != known.stored_next:
                known.stored_next = nxt
                self.store.set_next_dagrun(
                    dag_id,
                    nxt.logical_date if nxt else None,
                    nxt.start if nxt else None,
                    nxt.end if nxt else None,
                    nxt.create_after if nxt else None,
                )

    def _last_scheduled_interval(self, dag_id: str) -> DataInterval | None:
        scheduled = [r for r in self.store.list_dag_runs(dag_id) if r.run_type == "scheduled"]
        if not scheduled:
            return None
        last = max(scheduled, key=lambda r: r.data_interval_start)
        return DataInterval(last.data_interval_start, last.data_interval_end)

    def _create_run(self, dag: DAG, interval: DataInterval) -> None:
        run = new_dag_run(
            dag,
            logical_date=interval.logical_date,
            run_type="scheduled",
            data_interval=(interval.start, interval.end),
        )
        if self.store.get_dag_run(dag.dag_id, run.run_id) is not None or self.store.find_dag_run(
            dag.dag_id, interval.logical_date
        ):
            return  # that date already has a run (a backfill's, or this one's)
        DagRunEngine.create(dag, self.store, self.xcoms, run)
        log.info("Created run %s of %s", run.run_id, dag.dag_id)

    def _load_active_runs(self, active_runs: list[DagRun]) -> None:
        """Track every queued or running run in the database; forget runs that left."""
        stored = {(r.dag_id, r.run_id): r for r in active_runs}
        for key in list(self._runs):
            run = stored.get(key)
            if run is None:  # finished elsewhere, marked or deleted from the CLI
                self._drop_run(key, kill=True)
            elif (
                run.state is DagRunState.QUEUED
                and self._runs[key].engine.run.state is DagRunState.RUNNING
            ):
                # Cleared from the CLI while running: start again from what is stored.
                self._drop_run(key, kill=False)
        for key, run in stored.items():
            if key in self._runs or run.state is not DagRunState.RUNNING:
                continue
            known = self._dags.get(run.dag_id)
            if known is not None:
                self._reload_run(run, known.dag)

    def _reload_run(self, run: DagRun, dag: DAG) -> None:
        engine = DagRunEngine.load(
            dag, self.store, self.xcoms, run.dag_id, run.run_id, now=self.clock.now()
        )
        active = _ActiveRun(engine)
        for ti in engine.instances_in(S.SCHEDULED):
            active.waiting[(ti.task_id, ti.map_index)] = ti.key
        running = {key.ti_key: key for key in self.executor.running()}
        for ti in engine.instances_in(S.QUEUED, S.RUNNING):
            if ti.key in running:
                self._active[ti.key] = _Handed(running[ti.key], ti.pool, ti.pool_slots)
            # else: still handed (queued), or lost: _requeue_lost puts it back
        for ti in engine.removed_instances():  # their task left the DAG: stop their attempts
            self._kill(ti.key)
        self._runs[(run.dag_id, run.run_id)] = active
        self._dirty.add((run.dag_id, run.run_id))

    def _drop_run(self, key: tuple[str, str], *, kill: bool) -> None:
        self._runs.pop(key, None)
        self._dirty.discard(key)
        for ti_key in [k for k in self._active if (k.dag_id, k.run_id) == key]:
            if kill:
                self._kill(ti_key)
            self._active.pop(ti_key, None)

    def _kill(self, ti_key: TaskInstanceKey) -> None:
        """Stop the attempt of ``ti_key`` handed to the executor, if there is one."""
        handed = self._active.pop(ti_key, None)
        if handed is not None:
            self.executor.kill(handed.attempt)

    def _start_queued_runs(
        self, now: datetime, stored: list[DagRun], backfill_of: Mapping[tuple[str, str], int]
    ) -> None:
        """QUEUED runs become RUNNING, oldest first, while there is room: a backfill's runs
        within the backfill's ``max_active_runs``, other runs within their DAG's."""
        from headwater.store.backfills import backfill_limits

        limits = backfill_limits(self.store) if backfill_of else {}
        queued: list[DagRun] = []
        running: dict[str | int, int] = {}
        group: str | int
        for run in stored:
            group = backfill_of.get((run.dag_id, run.run_id), run.dag_id)
            if run.state is DagRunState.QUEUED:
                queued.append(run)
            else:
                running[group] = running.get(group, 0) + 1
        for run in sorted(queued, key=lambda r: r.logical_date):
            known = self._dags.get(run.dag_id)
            if known is None or known.is_paused:
                continue  # a paused DAG's queued runs wait
            backfill = backfill_of.get((run.dag_id, run.run_id))
            group = run.dag_id if backfill is None else backfill
            limit = known.dag.max_active_runs if backfill is None else limits.get(backfill, 1)
            if running.get(group, 0) >= limit:
                continue
            running[group] = running.get(group, 0) + 1
            self._reload_run(run, known.dag)
            self._runs[(run.dag_id, run.run_id)].engine.start(now)
        self._queued_runs = {(r.dag_id, r.run_id) for r in queued} - set(self._runs)

    def _end_runs_of_missing_dags(self, now: datetime, stored: list[DagRun]) -> None:
        """Queued and running runs whose DAG no file defines any more end ``failed`` once it
        has been missing for ``scheduler.missing_dag_grace_s`` (see ``missing_dags``)."""
        for run, reason in self._missing_dags.overdue_runs(now, stored, self._defined_dag_ids):
            key = (run.dag_id, run.run_id)
            if key not in self._runs:  # queued, or left running by a scheduler that stopped
                engine = engine_without_dag_file(self.store, self.xcoms, run, now)
                if engine is None:
                    continue
                self._runs[key] = _ActiveRun(engine)
            for ti in self._runs[key].engine.remove_unfinished(now, reason):
                self._kill(ti.key)
            self._end_run(key, DagRunState.FAILED)

    def _time_out_runs(self, now: datetime) -> None:
        for key, active in list(self._runs.items()):
            engine = active.engine
            if engine.timed_out(now):
                for ti in engine.time_out(now):
                    self._kill(ti.key)
                self._end_run(key, engine.run.state)

    # -- task instances ---------------------------------------------------------------------------

    def schedule_runs(self, now: datetime, *, everything: bool = False) -> None:
        """Evaluate runs (the changed ones, or all) and queue what may start."""
        keys = list(self._runs) if everything else list(self._dirty)
        self._dirty.clear()
        for key in keys:
            active = self._runs.get(key)
            if active is None:
                continue
            for ti in active.engine.schedule(now):
                active.waiting[(ti.task_id, ti.map_index)] = ti.key
            if active.engine.is_finished:
                self._end_run(key, active.engine.finalize(now))
        self._queue_admitted()

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
        self._deferred_actions = []
        try:
            yield
        finally:
            actions, self._deferred_actions = self._deferred_actions, None
            with self.store.unit_of_work() as uow:
                for engine in engines:
                    engine.flush(uow)
        for action in actions:
            action()

    def _after_commit(self, action: Callable[[], object]) -> None:
        """Do ``action`` now, or once the current :meth:`_one_transaction` committed."""
        if self._deferred_actions is None:
            action()
        else:
            self._deferred_actions.append(action)

    def _end_run(self, key: tuple[str, str], state: DagRunState) -> None:
        active = self._runs.pop(key)
        if any(dag_id == key[0] for dag_id, _ in self._queued_runs):
            self._pass_wanted = True  # a queued run of its DAG may start in the room it leaves
        log.info("Run %s of %s ended: %s", key[1], key[0], state.value)
        dag = active.engine.dag
        callback = (
            dag.on_success_callback if state is DagRunState.SUCCESS else dag.on_failure_callback
        )
        known = self._dags.get(key[0])
        if callback is not None and known is not None:
            # The callback's process reads the run: only once its end is committed.
            self._after_commit(functools.partial(self._callbacks.start, known.fileloc, *key))
        if self.on_run_finished is not None:
            self._after_commit(functools.partial(self.on_run_finished, active.engine.run))

    def _queue_admitted(self) -> None:
        capacity = self._capacity()
        if capacity.slots <= 0:
            return
        result = admit(self._candidates(), capacity)
        for ti in result.unknown_pool:
            if ti.pool not in self._warned_pools:
                self._warned_pools.add(ti.pool)
                log.warning(
                    "Task %s of %s waits for pool %r, which does not exist; "
                    "create it with `headwater pools set %s SLOTS`",
                    ti.task_id,
                    ti.dag_id,
                    ti.pool,
                    ti.pool,
                )
        by_run: dict[tuple[str, str], list[TaskInstanceKey]] = {}
        for ti in result.admitted:
            by_run.setdefault((ti.dag_id, ti.run_id), []).append(ti.key)
        for run_key, ti_keys in by_run.items():
            active = self._runs[run_key]
            tis = [active.engine.get_ti(k.task_id, k.map_index) for k in ti_keys]
            active.engine.mark_queued(tis)  # committed before the executor hears of them
            for ti in tis:
                del active.waiting[(ti.task_id, ti.map_index)]
                attempt = ti.key.attempt(ti.try_number + 1)
                self._active[ti.key] = _Handed(attempt, ti.pool, ti.pool_slots)
                self._after_commit(functools.partial(self.executor.queue, attempt))

    def _candidates(self) -> Iterator[Candidate]:
        """Waiting instances, highest priority then oldest run first, made lazily: admission
        stops at the first ones that fill the free slots, however many wait."""
        streams = []
        for active in self._runs.values():
            known = self._dags.get(active.engine.dag.dag_id)
            if known is None or known.is_paused or not active.waiting:
                continue
            streams.append(_waiting_candidates(active, sort=not known.uniform_priority))
        return heapq.merge(*streams, key=candidate_order)

    def _capacity(self) -> Capacity:
        pools = dict(self._pools)
        per_dag: dict[str, int] = {}
        for key, (_, pool, slots) in self._active.items():
            if pool in pools:
                pools[pool] -= slots
            per_dag[key.dag_id] = per_dag.get(key.dag_id, 0) + 1
        dag_tasks = {
            dag_id: known.dag.max_active_tasks - per_dag.get(dag_id, 0)
            for dag_id, known in self._dags.items()
        }
        slots = self.settings.scheduler.parallelism - len(self._active)
        return Capacity(slots=slots, pools=pools, dag_tasks=dag_tasks)

    def prepare_attempt(
        self, key: AttemptKey, worker_pid: int, worker_host: str
    ) -> AttemptMessage | None:
        """Called by the executor right before a worker gets ``key``: the message for the
        worker (it claims the attempt itself when it starts it; the executor then reports it
        started). None drops the key: its instance is no longer queued for that try, or its
        DAG is missing (it waits, scheduled, for the DAG to come back or its run to end)."""
        active = self._runs.get((key.dag_id, key.run_id))
        if active is None:
            return None
        ti = active.engine.get_ti(key.task_id, key.map_index)
        if ti.state is not S.QUEUED or ti.try_number + 1 != key.try_number:
            return None
        known = self._dags.get(key.dag_id)
        if known is None:
            now = self.clock.now()
            active.engine.requeue_lost(key.task_id, key.map_index, now, "DAG missing")
            active.waiting[(key.task_id, key.map_index)] = ti.key
            self._active.pop(ti.key, None)
            return None
        return AttemptMessage(
            key,
            fileloc=known.fileloc,
            log_path=attempt_log_path(self.settings.logs_folder, ti.key, key.try_number),
            timeout_s=self.execution_timeout_s(ti.key),
            run=active.engine.run,
            ti=ti,
        )

    def execution_timeout_s(self, key: TaskInstanceKey) -> float | None:
        known = self._dags.get(key.dag_id)
        if known is None or key.task_id not in known.dag.task_dict:
            return None
        timeout = known.dag.task_dict[key.task_id].execution_timeout
        return timeout.total_seconds() if timeout else None

    def apply_outcomes(self, finished: list[tuple[AttemptKey, AttemptOutcome]]) -> None:
        """Apply the attempts the executor started, then how attempts ended (each
        committed), marking their runs for scheduling. A result for another try than the
        instance's current one is stale: logged, ignored."""
        self.apply_started(self.executor.started())
        now = self.clock.now()
        for key, outcome in finished:
            if outcome.rejected:
                continue  # not run by the process that says so: the claimer reports it
            handed = self._active.get(key.ti_key)
            if handed is not None and handed.attempt == key:
                del self._active[key.ti_key]
            active = self._runs.get((key.dag_id, key.run_id))
            if active is None:
                continue  # the run ended meanwhile (timed out, deleted)
            ti = active.engine.get_ti(key.task_id, key.map_index)
            if ti.state is not S.RUNNING:
                continue  # killed because the run ended; its state is settled
            if ti.try_number != key.try_number:
                log.warning(
                    "Ignoring the result of task %s of run %s: it reports on try %d, and the "
                    "instance is at try %d",
                    ti.key.label,
                    ti.run_id,
                    key.try_number,
                    ti.try_number,
                )
                continue
            self._dirty.add((key.dag_id, key.run_id))
            if outcome.lost:
                reason = outcome.error or LOST_REASON
                if end_lost_attempt(self.store, active.engine, ti, now, reason) is None:
                    active.waiting[(ti.task_id, ti.map_index)] = ti.key
                continue
            outcome = settle_outcome(self.store, ti, outcome, now)
            active.engine.finish_attempt(key.task_id, key.map_index, outcome, now)

    def apply_started(self, events: list[AttemptStarted]) -> None:
        """Instances whose attempt went to a worker become running (committed)."""
        for event in events:
            key = event.key
            active = self._runs.get((key.dag_id, key.run_id))
            if active is None:
                continue
            ti = active.engine.get_ti(key.task_id, key.map_index)
            if ti.state is not S.QUEUED or ti.try_number + 1 != key.try_number:
                continue  # killed or ended meanwhile: nothing to start
            active.engine.start_attempt(
                key.task_id,
                key.map_index,
                event.at,
                hostname=event.hostname,
                pid=event.pid,
                log_path=attempt_log_path(self.settings.logs_folder, ti.key, key.try_number),
                claimed=True,
            )

    def _next_retry_due(self) -> datetime | None:
        dues = [d for a in self._runs.values() if (d := a.engine.next_retry_at()) is not None]
        return min(dues, default=None)

    # -- recovery and heartbeats -----------------------------------------------------------------

    def _requeue_lost(self, now: datetime) -> None:
        """Instances left QUEUED or RUNNING by a scheduler that stopped.

        A queued one whose attempt a worker claimed is running. A running one whose worker
        is still alive on this machine is adopted by the executor
        (it goes on; its outcome is applied when it ends), so it never runs twice at once.
        One whose attempt recorded an outcome is finished with it, never run again. The
        others run again, without counting a retry.
        """
        running_here = {key.ti_key for key in self.executor.running()}
        for key, active in self._runs.items():
            engine = active.engine
            for ti in engine.instances_in(S.QUEUED, S.RUNNING):
                if ti.key in self._active or ti.key in running_here:
                    continue
                if ti.state is S.QUEUED:
                    self._start_if_claimed(engine, ti)
                if ti.state is S.RUNNING and self._adopt(ti):
                    continue
                if end_lost_attempt(self.store, engine, ti, now, LOST_REASON) is not None:
                    self._dirty.add(key)
                    continue
                active.waiting[(ti.task_id, ti.map_index)] = ti.key
                log.warning("Task %s of run %s was lost; it runs again", ti.key.label, ti.run_id)

    def _start_if_claimed(self, engine: DagRunEngine, ti: TaskInstance) -> None:
        """A queued instance whose next attempt a worker claimed (its scheduler died before
        it heard) is running: it goes on as any running one (adopted, applied or lost)."""
        attempt = self.store.get_attempt(ti.key.attempt(ti.try_number + 1))
        if attempt is None:
            return
        engine.start_attempt(
            ti.task_id,
            ti.map_index,
            attempt.start_date,
            hostname=attempt.hostname,
            pid=attempt.pid,
            log_path=attempt.log_path,
            claimed=True,
        )

    def _adopt(self, ti: TaskInstance) -> bool:
        """Hand ``ti``'s running attempt to the executor if its worker is still alive."""
        attempt = self.store.get_attempt(ti.key.attempt(ti.try_number))
        if attempt is None or attempt.end_date is not None or not attempt.pid:
            return False
        timeout_s = self.execution_timeout_s(ti.key)
        host = attempt.hostname or ""
        if not self.executor.adopt(attempt.key, attempt.pid, host, attempt.start_date, timeout_s):
            return False
        self._active[ti.key] = _Handed(attempt.key, ti.pool, ti.pool_slots)
        return True

    def _heartbeat(self, now: datetime) -> None:
        every = timedelta(seconds=self.settings.scheduler.heartbeat_interval_s)
        if self._last_heartbeat is not None and now - self._last_heartbeat < every:
            return
        self._last_heartbeat = now
        self.executor.heartbeat()
        self._callbacks.reap()
        if self.job_id is not None:
            self.store.heartbeat_job(self.job_id, now)
        running = self.executor.running()
        if running:
            self.store.heartbeat_attempts(list(running), now)
        self._fail_silent_attempts(now, running)

    def _fail_silent_attempts(self, now: datetime, running: Mapping[AttemptKey, object]) -> None:
        """A running attempt that no executor of this scheduler runs and whose last sign of
        life (its heartbeat; its start if its worker never claimed it) is older than
        ``task_heartbeat_timeout_s`` is lost: it fails (and retries by its ``retries``). The
        safety net behind the executor's own detection of dead workers."""
        timeout = timedelta(seconds=self.settings.scheduler.task_heartbeat_timeout_s)
        beats = self.store.attempt_heartbeats()
        for active in list(self._runs.values()):
            for ti in active.engine.instances_in(S.RUNNING):
                attempt = ti.key.attempt(ti.try_number)
                if attempt in running:
                    continue
                beat = beats.get(attempt)
                last = beat.heartbeat_at if beat is not None else ti.start_date
                if last is not None and now - last <= timeout:
                    continue
                error = (
                    f"no heartbeat for over {timeout.total_seconds():g} s "
                    "(scheduler.task_heartbeat_timeout_s): the process running it is gone"
                )
                log.warning("Task %s of run %s: %s", ti.key.label, ti.run_id, error)
                outcome = settle_outcome(self.store, ti, AttemptOutcome(S.FAILED, error=error), now)
                active.engine.finish_attempt(ti.task_id, ti.map_index, outcome, now)
                self._active.pop(ti.key, None)
                self._dirty.add((ti.dag_id, ti.run_id))


def _waiting_candidates(active: _ActiveRun, *, sort: bool) -> Iterator[Candidate]:
    engine = active.engine
    tis: Iterable[TaskInstance] = (engine.get_ti(t, m) for t, m in active.waiting)
    if sort:
        tis = sorted(tis, key=lambda ti: -ti.priority_weight)
    date = engine.run.logical_date
    return (Candidate(ti, date) for ti in tis)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
