"""Attempts between the scheduler and its executor: which waiting instances may start
(admission), the message each attempt goes out with, and applying what the executor reports
(an attempt started, an attempt ended), stale reports of another try ignored."""

from __future__ import annotations

import functools
import heapq
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from headwater.engine.records import AttemptKey, AttemptOutcome, TaskInstance, TaskInstanceKey
from headwater.executors.base import AttemptStarted
from headwater.executors.messages import AttemptMessage
from headwater.log_format import fields_of
from headwater.metrics import scheduler_observations as observe
from headwater.runtime.logs import attempt_log_path
from headwater.scheduler.admission import Candidate, Capacity, admit, candidate_order
from headwater.scheduler.attempt_recovery import end_lost_attempt, settle_outcome
from headwater.scheduler.scheduler_state import (
    LOST_REASON,
    ActiveRun,
    Handed,
    OthersUsage,
    S,
    SchedulerState,
)

log = logging.getLogger("headwater.scheduler.scheduler")

OTHERS_COUNT_INTERVAL_S = 0.25
"""Between full passes, what other schedulers hold is counted again at most this often."""

GATHER_S = 0.01
"""How long the scheduler may keep taking ended attempts before it writes them, while its
executor holds enough attempts queued ahead that no worker waits for that write."""


class AttemptFlow(SchedulerState):
    """Queueing attempts and applying the executor's reports."""

    def _queue_admitted(self) -> None:
        capacity = self._capacity()
        if capacity.slots <= 0:
            return
        result = admit(self._candidates(capacity), capacity)
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
        now = self.clock.now()
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
                self._active[ti.key] = Handed(attempt, ti.pool, ti.pool_slots, now)
                self._after_commit(
                    functools.partial(self.executor.queue, attempt),
                    undo_if_not_committed=functools.partial(self._active.pop, ti.key, None),
                )

    def _candidates(self, capacity: Capacity) -> Iterator[Candidate]:
        """Waiting instances, highest priority then oldest run first, made lazily: admission
        stops at the first ones that fill the free slots, however many wait, and a run's
        stream ends once its DAG is at ``max_active_tasks`` (none of the rest would fit)."""
        streams = []
        for active in self._runs.values():
            known = self._dags.get(active.engine.dag.dag_id)
            if known is None or known.is_paused or not active.waiting:
                continue
            sort = not known.uniform_priority
            streams.append(_waiting_candidates(active, capacity.dag_tasks, sort=sort))
        return heapq.merge(*streams, key=candidate_order)

    def _capacity(self) -> Capacity:
        pools = dict(self._pools)
        per_dag: dict[str, int] = {}
        for key, (_, pool, slots, _) in self._active.items():
            if pool in pools:
                pools[pool] -= slots
            per_dag[key.dag_id] = per_dag.get(key.dag_id, 0) + 1
        if self._others_alive and any(active.waiting for active in self._runs.values()):
            self._count_the_others(pools, per_dag)  # two queries, only when something waits
        dag_tasks = {
            dag_id: known.dag.max_active_tasks - per_dag.get(dag_id, 0)
            for dag_id, known in self._dags.items()
        }
        slots = self.handed_out_limit - len(self._active)
        return Capacity(slots=slots, pools=pools, dag_tasks=dag_tasks)

    def _count_the_others(self, pools: dict[str, int], per_dag: dict[str, int]) -> None:
        """Another scheduler shares the database: pools and ``max_active_tasks`` count the
        instances queued or running in the database, whoever queued them (this scheduler's
        own were committed before it handed them out, so the database has them too). What
        the others hold is counted again at each full pass and at most every
        ``OTHERS_COUNT_INTERVAL_S`` between passes (two queries each time: counting after
        every ended attempt made a second scheduler slow the first down by a third)."""
        now = self.clock.now()
        usage = self._others_usage
        if usage is None or (now - usage.at).total_seconds() >= OTHERS_COUNT_INTERVAL_S:
            states = (S.QUEUED, S.RUNNING)
            own_pools = {pool: self._pools[pool] - free for pool, free in pools.items()}
            usage = self._others_usage = OthersUsage(
                now,
                {
                    pool: max(used - own_pools.get(pool, 0), 0)
                    for pool, used in self.store.count_tis_by_pool(states).items()
                },
                {
                    dag_id: max(used - per_dag.get(dag_id, 0), 0)
                    for dag_id, used in self.store.count_tis_by_dag(states).items()
                },
            )
        for pool, used in usage.pools.items():
            if pool in pools:
                pools[pool] -= used
        for dag_id, used in usage.dags.items():
            per_dag[dag_id] = per_dag.get(dag_id, 0) + used

    def poll_executor(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """The attempts that ended (``executor.poll``, waiting up to ``timeout`` for one).

        While the executor holds at least a quarter of ``queued_ahead`` attempts not handed
        to a worker yet, every worker that ends an attempt gets its next one without this
        scheduler (a busy local worker also holds its next one in its pipe): the write of
        their ends is not what they wait for. Ended attempts are then taken for up to
        ``GATHER_S`` more (or until that queue runs low), and written in one transaction
        instead of one each: the write costs the scheduler and the database less per
        attempt, and leaves them more of the CPUs for the workers."""
        finished = self.executor.poll(timeout=timeout)
        enough = (self.executor.queued_ahead + 3) // 4
        if not finished or not enough or self.executor.waiting() < enough:
            return finished
        until = time.monotonic() + GATHER_S
        while self.executor.waiting() >= enough and (left := until - time.monotonic()) > 0:
            finished += self.executor.poll(timeout=left)
        return finished

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
            if ti.state is S.QUEUED and ti.try_number + 1 == key.try_number:
                ti = self._started_from_claim(active.engine, ti, key)
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
                    extra=fields_of(key),
                )
                continue
            self._dirty.add((key.dag_id, key.run_id))
            if outcome.lost:
                reason = outcome.error or LOST_REASON
                if end_lost_attempt(self.store, active.engine, ti, now, reason) is None:
                    active.waiting[(ti.task_id, ti.map_index)] = ti.key
                continue
            outcome = settle_outcome(self.store, ti, outcome, now)
            state = active.engine.finish_attempt(key.task_id, key.map_index, outcome, now)
            observe.attempt_ended(
                ti, state, now, by_task=self.settings.metrics.task_durations_by_task
            )

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
            handed = self._active.get(ti.key)
            queued_at = handed.queued_at if handed is not None and handed.attempt == key else None
            observe.attempt_started(active.engine, ti, queued_at, event.at)

    def _next_retry_due(self) -> datetime | None:
        dues = [d for a in self._runs.values() if (d := a.engine.next_retry_at()) is not None]
        return min(dues, default=None)

    # -- recovery and heartbeats -----------------------------------------------------------------


def _waiting_candidates(
    active: ActiveRun, dag_room: dict[str, int], *, sort: bool
) -> Iterator[Candidate]:
    """The run's waiting instances as candidates, until its DAG has no room left in
    ``dag_room`` (admission takes from it as it admits): a DAG at ``max_active_tasks`` with
    thousands of instances waiting costs a look, not a walk through all of them."""
    engine = active.engine
    dag_id = engine.dag.dag_id
    if dag_room.get(dag_id, 0) <= 0:
        return
    tis: Iterable[TaskInstance] = (engine.get_ti(t, m) for t, m in active.waiting)
    if sort:
        tis = sorted(tis, key=lambda ti: -ti.priority_weight)
    date = engine.run.logical_date
    for ti in tis:
        yield Candidate(ti, date)
        if dag_room.get(dag_id, 0) <= 0:
            return
