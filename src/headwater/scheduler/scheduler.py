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
import logging
import os
from collections.abc import Callable, Mapping
from copy import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.db.errors import DamagedDatabaseError
from headwater.db.reconnect import ReconnectBackoff, is_connection_lost
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import (
    DagRun,
)
from headwater.engine.states import DagRunState
from headwater.exceptions import HeadwaterError, StaleWriteError
from headwater.lineage import DagRunLineage
from headwater.log_format import log_fields
from headwater.metrics.definitions import DAG_RUNS_ENDED, SCHEDULER_LOOP_SECONDS
from headwater.scheduler.asset_event_watch import AssetEventWatch
from headwater.scheduler.asset_runs import create_asset_triggered_runs
from headwater.scheduler.attempt_flow import AttemptFlow
from headwater.scheduler.deferrals import Deferrals
from headwater.scheduler.missing_dags import engine_without_dag_file
from headwater.scheduler.recovery import Recovery
from headwater.scheduler.run_claims import RunClaims, claim_owner
from headwater.scheduler.scheduled_runs import ScheduledRuns
from headwater.scheduler.scheduler_state import (
    LOST_REASON,
    STOPPED_REASON,
    ActiveRun,
    Handed,
    KnownDag,
    S,
)
from headwater.scheduler.shared_work import SharedWork

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


__all__ = ["ACTIVE_RUN_STATES", "LOST_REASON", "STOPPED_REASON", "Scheduler"]

log = logging.getLogger(__name__)

ACTIVE_RUN_STATES = (DagRunState.QUEUED, DagRunState.RUNNING)


class Scheduler(Recovery, AttemptFlow, Deferrals, SharedWork, ScheduledRuns):
    """One scheduler over one database and one executor. On PostgreSQL others may run beside
    it: it then drives only the runs it claimed (:mod:`~headwater.scheduler.run_claims`)."""

    def start(self) -> None:
        """Register this scheduler, put back what a stopped one left, start the executor."""
        now = self.clock.now()
        if self.several_schedulers:
            self._check_claim_lease()
            dead = self._dead_schedulers_here(now)
        else:
            self._refuse_a_second_scheduler(now)
        self.job_id = self.store.start_job("scheduler", self.hostname, os.getpid(), now)
        if self.several_schedulers:
            owner = claim_owner(self.job_id, self.hostname, os.getpid())
            lease_s = self.settings.scheduler.run_claim_lease_s
            self._claims = RunClaims(self.store, owner, lease_s=lease_s)
            self._claims.release_of_dead(dead)
        self.executor.start()
        self._refresh_dags()
        stored = self._active_runs_in_store()
        held, _ = self._claim_runs(now, stored)
        self._load_active_runs(held, stored)
        self._requeue_lost(now)

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
            self._duties.stop()
            self._release_claims()
            if self.job_id is not None:
                with contextlib.suppress(DamagedDatabaseError):  # the loop's error says it
                    self.store.end_job(self.job_id, self.clock.now())
                self.job_id = None

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Loop until ``should_stop()``: full passes every ``loop_interval_s``, and between
        them, apply attempts as they end and queue what they made ready at once. A run queued
        from elsewhere (a trigger, a backfill, a clear), or one that may start because another
        ended, brings the next full pass forward."""
        interval = self.settings.scheduler.loop_interval_s
        check_every = self.settings.scheduler.new_run_check_interval_s
        backoff = ReconnectBackoff("the scheduler loop", log)
        self.start()
        try:
            while not should_stop():
                try:
                    self.tick()
                    backoff.succeeded()
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
                        finished = self.poll_executor(self._deferral_wait(wait))
                        with self._one_transaction():
                            self.apply_outcomes(finished)  # and the attempts started meanwhile
                            resumed = self._resume_triggered(self.clock.now())
                            if finished or resumed:
                                self.schedule_runs(self.clock.now())
                            elif due is not None and self.clock.now() >= due:
                                # A retry falling due after its run's dagrun_timeout does not start.
                                self._time_out_runs(self.clock.now())
                                self.schedule_runs(self.clock.now(), everything=True)
                        self._duties.tick(self.clock.now())
                        self._renew_claims(self.clock.now(), when_due=True)
                        if any(outcome.outlet_events for _, outcome in finished):
                            self._pass_wanted = True  # asset events: their DAGs may run now
                        if check_every > 0 and self.clock.now() >= next_check:
                            next_check = self.clock.now() + timedelta(seconds=check_every)
                            self._pass_wanted = self._pass_wanted or self._new_runs_queued()
                except Exception as exc:  # a lost connection costs this pass, no more
                    if not is_connection_lost(exc):
                        raise
                    self._after_lost_connection(backoff.failed(exc), should_stop)
        finally:
            self.stop()

    def _new_runs_queued(self) -> bool:
        """Whether a run was queued since the last pass (by the CLI, the API, a backfill),
        or an asset event recorded from outside (which may start a run)."""
        if self.store.run_keys_in_state(DagRunState.QUEUED) - self._queued_runs:
            return True
        return self._asset_event_watch.new_since_mark()

    @functools.cached_property
    def _asset_event_watch(self) -> AssetEventWatch:
        return AssetEventWatch(self.store)

    @functools.cached_property
    def _lineage(self) -> DagRunLineage:
        """OpenLineage events of the runs this scheduler starts and ends ([lineage])."""
        return DagRunLineage(self.settings.lineage)

    # -- one full pass ---------------------------------------------------------------------------

    @SCHEDULER_LOOP_SECONDS.time()
    def tick(self) -> None:
        """Everything the scheduler does, once: DAGs, runs, queueing, timeouts, heartbeats."""
        now = self.clock.now()
        self._asset_event_watch.mark()  # before the pass reads the queued events
        self._others_usage = None  # each full pass counts what other schedulers hold again
        try:
            self._runs_pass(now)
        except StaleWriteError as exc:  # a direct write met another writer's change
            self._reload_after_stale(exc)
            return
        self._pass_wanted = False
        with self._one_transaction():
            self._time_out_runs(now)
            self.wake()  # a full pass looks for ended triggers whatever it holds
            self._resume_triggered(now)
            self.schedule_runs(now, everything=True)
        self._delete_orphan_triggers(now)
        self._heartbeat(now)
        self._duties.tick(now)

    def _runs_pass(self, now: datetime) -> None:
        """DAGs, pools, runs due, runs loaded and started, runs of missing DAGs; after a
        stale write, what the reloaded runs left behind is put back."""
        from headwater.store.backfills import active_backfill_runs

        self._refresh_dags()
        self._refresh_pools()
        backfill_of = active_backfill_runs(self.store)
        self._create_scheduled_runs(now, self._active_runs_in_store(), backfill_of)
        create_asset_triggered_runs(self.store, self.xcoms, self._dags, now)
        stored = self._active_runs_in_store()  # with the runs just created
        held, taken = self._claim_runs(now, stored)
        self._load_active_runs(held, stored)
        self._start_queued_runs(now, stored, backfill_of, held)
        if self._recover_after_stale:
            self._recover_after_stale = False
            self._requeue_lost(now)
        elif taken:  # runs another scheduler left: put back what it left, as at a start
            self._requeue_lost(now, runs=taken)
        self._end_runs_of_missing_dags(now, held)

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
                    log.error(
                        "DAG %s cannot be loaded from the database: %s",
                        row.dag_id,
                        exc,
                        extra=log_fields(row.dag_id),
                    )
                    continue
                self._dags[row.dag_id] = KnownDag(dag, row.source_hash, row.fileloc, row.is_paused)
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

    def _load_active_runs(
        self, active_runs: list[DagRun], still_active: list[DagRun] | None = None
    ) -> None:
        """Track every queued or running run in the database this scheduler drives (all of
        them, or the ones it holds among ``still_active``); forget runs that left."""
        stored = {(r.dag_id, r.run_id): r for r in active_runs}
        elsewhere = {(r.dag_id, r.run_id) for r in still_active or ()} - set(stored)
        for key in list(self._runs):
            run = stored.get(key)
            if run is None and key in elsewhere:  # another scheduler holds it now
                self._drop_run(key, kill=False)
            elif run is None:  # finished elsewhere, marked or deleted from the CLI
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
        active = ActiveRun(engine)
        for ti in engine.instances_in(S.SCHEDULED):
            active.waiting[(ti.task_id, ti.map_index)] = ti.key
        running = {key.ti_key: key for key in self.executor.running()}
        for ti in engine.instances_in(S.QUEUED, S.RUNNING):
            if ti.key in running:
                self._active[ti.key] = Handed(running[ti.key], ti.pool, ti.pool_slots)
            # else: still handed (queued), or lost: _requeue_lost puts it back
        for ti in engine.removed_instances():  # their task left the DAG: stop their attempts
            self._kill(ti.key)
        self._runs[(run.dag_id, run.run_id)] = active
        self._dirty.add((run.dag_id, run.run_id))

    def _start_queued_runs(
        self,
        now: datetime,
        stored: list[DagRun],
        backfill_of: Mapping[tuple[str, str], int],
        held: list[DagRun],
    ) -> None:
        """QUEUED runs this scheduler drives (``held``) become RUNNING, oldest first, while
        there is room: a backfill's runs within the backfill's ``max_active_runs`` (newest
        first for a backfill that runs backwards), other runs within their DAG's; the room
        is counted on every active run in the database (``stored``)."""
        from headwater.store.backfills import backfill_limits, get_backfill

        limits = backfill_limits(self.store) if backfill_of else {}
        backwards = set()
        for backfill_id in limits:  # the backfills with an active run: a handful at most
            row = get_backfill(self.store, backfill_id)
            if row is not None and row.run_backwards:
                backwards.add(backfill_id)
        queued: list[DagRun] = []
        running: dict[str | int, int] = {}
        group: str | int
        for run in stored:
            group = backfill_of.get((run.dag_id, run.run_id), run.dag_id)
            if run.state is DagRunState.QUEUED:
                queued.append(run)
            else:
                running[group] = running.get(group, 0) + 1

        def order(run: DagRun) -> float:
            moment = run.logical_date.timestamp()
            return -moment if backfill_of.get((run.dag_id, run.run_id)) in backwards else moment

        mine = {(r.dag_id, r.run_id) for r in held}
        for run in sorted(queued, key=order):
            if (run.dag_id, run.run_id) not in mine:
                continue  # another scheduler holds it
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
            engine = self._runs[(run.dag_id, run.run_id)].engine
            engine.start(now)
            if self._lineage.enabled:  # OpenLineage: the run's START, once committed
                started = (engine.dag, copy(engine.run), now)
                self._after_commit(functools.partial(self._lineage.started, *started))
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
                self._runs[key] = ActiveRun(engine)
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
        changed_dags = set()
        for key in keys:
            active = self._runs.get(key)
            if active is None:
                continue
            changed_dags.add(key[0])
            for ti in active.engine.schedule(now):
                active.waiting[(ti.task_id, ti.map_index)] = ti.key
            if active.engine.is_finished:
                self._end_run(key, active.engine.finalize(now))
        self._queue_admitted()
        if not everything and self._waits_on_changed_runs(changed_dags):
            # depends_on_past: a run of the same DAG moved on; the next full pass, after this
            # transaction commits, reads it (engine/past_runs.py).
            self._pass_wanted = True

    def _waits_on_changed_runs(self, dag_ids: set[str]) -> bool:
        """Whether an active run of one of ``dag_ids`` has instances waiting on its
        previous run (cheap: the engines keep it; only DAGs with ``depends_on_past`` have
        any)."""
        return any(
            key[0] in dag_ids and active.engine.has_past_waits()
            for key, active in self._runs.items()
        )

    def _end_run(self, key: tuple[str, str], state: DagRunState) -> None:
        active = self._runs.pop(key)
        if any(dag_id == key[0] for dag_id, _ in self._queued_runs):
            self._pass_wanted = True  # a queued run of its DAG may start in the room it leaves
        log.info("Run %s of %s ended: %s", key[1], key[0], state.value, extra=log_fields(*key))
        DAG_RUNS_ENDED.labels(state.value).inc()
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
        if self._lineage.enabled:  # OpenLineage: COMPLETE / FAIL, once the end is committed
            failed = [ti.task_id for ti in active.engine.instances_in(S.FAILED)]
            ended = (dag, copy(active.engine.run), state, self.clock.now(), failed)
            self._after_commit(functools.partial(self._lineage.ended, *ended))
