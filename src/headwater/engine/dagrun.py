"""The engine: one state machine over the task instances of a DAG run.

It decides which task instances may run next (dependencies and trigger rules, branching,
skips, mapping expansion, retries with backoff) and the run's final state; the tasks of
mapped task groups through :mod:`headwater.engine.mapped_groups`, the end of a run before
its tasks are done through :mod:`headwater.engine.early_ends`. It never runs a task and
never sleeps: a driver (``dags test``, the scheduler) asks :meth:`schedule` for ready
instances, hands them to an executor, and reports attempts back through
:meth:`start_attempt` and :meth:`finish_attempt`. Every change is saved to the store
before the method returns.

Every state change goes through :meth:`DagRunEngine._transition` (a run's through
:meth:`DagRunEngine._transition_run`), which names the rule of
:mod:`headwater.engine.transitions` that makes it and raises
:class:`~headwater.exceptions.IllegalTransitionError` for a change the rule does not allow.
What people do to a run (clear, mark success or failed) goes through them too
(:mod:`headwater.engine.manual_changes`, on an engine from :meth:`DagRunEngine.load_as_stored`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headwater.authoring.setup_teardown import effective_leaves
from headwater.engine import retries, setup_teardown
from headwater.engine import transitions as rules
from headwater.engine.early_ends import EarlyEnds
from headwater.engine.mapped_groups import MappedGroups, group_mapped
from headwater.engine.past_runs import PastRuns
from headwater.engine.records import (
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
)
from headwater.engine.states import (
    FAILED_STATES,
    FINISHED_RUN_STATES,
    FINISHED_STATES,
    DagRunState,
    TaskInstanceState,
)
from headwater.engine.transitions import Rule
from headwater.engine.trigger_rules import Decision, UpstreamCounts, decide
from headwater.engine.waiting import WaitingStates
from headwater.exceptions import HeadwaterError, MappingError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.ports import EngineStore
    from headwater.engine.xcoms import XComs

log = logging.getLogger(__name__)

S = TaskInstanceState


class DagRunEngine(WaitingStates, MappedGroups, PastRuns, EarlyEnds):
    """Drives one run of one DAG from creation to its final state."""

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def create(cls, dag: DAG, store: EngineStore, xcoms: XComs, run: DagRun) -> DagRunEngine:
        """Store ``run`` with one fresh task instance per task, and return its engine."""
        dag.validate()
        engine = cls(dag, store, xcoms, run)
        tis = [engine._new_ti(task, -1) for task in dag.task_dict.values()]
        store.create_dag_run(run, tis)
        engine._remember_stored(tis)
        engine._load(tis)
        return engine

    @classmethod
    def load(
        cls,
        dag: DAG,
        store: EngineStore,
        xcoms: XComs,
        dag_id: str,
        run_id: str,
        *,
        now: datetime | None = None,
    ) -> DagRunEngine:
        """The engine of a stored run (to resume it after a restart, or after its DAG changed).

        An unfinished run is first made to match ``dag``, as Airflow's
        ``DagRun.verify_integrity``, and the changes are stored before this returns: a task
        with no instance gets one (state ``none``, a mapped task its placeholder), so it runs
        when its upstream tasks allow; an instance whose task is no longer in the DAG, or is
        at a map index the task no longer has, becomes ``removed`` (a running attempt of it
        ends ``removed`` at ``now``, default the current time); a ``removed`` instance whose
        task is back goes back to ``none``. A finished run is never changed.
        """
        run = store.get_dag_run(dag_id, run_id)
        if run is None:
            raise HeadwaterError(f"DAG {dag_id!r} has no run {run_id!r}")
        engine = cls(dag, store, xcoms, run)
        tis = store.get_task_instances(dag_id, run_id)
        engine._remember_stored(tis)  # before matching the DAG changes any of them
        if run.state in FINISHED_RUN_STATES:
            engine._load(tis)
        else:
            engine._load(engine._verify_integrity(tis, now or datetime.now(UTC)))
            engine._commit()
        return engine

    @classmethod
    def load_as_stored(
        cls, dag: DAG, store: EngineStore, xcoms: XComs, dag_id: str, run_id: str
    ) -> DagRunEngine:
        """The engine of a stored run as it is stored, not matched to ``dag`` (see
        :meth:`load`): for people's changes (:mod:`headwater.engine.manual_changes`), which
        leave that matching to the scheduler that reloads the run, and change nothing else."""
        run = store.get_dag_run(dag_id, run_id)
        if run is None:
            raise HeadwaterError(f"DAG {dag_id!r} has no run {run_id!r}")
        engine = cls(dag, store, xcoms, run)
        tis = store.get_task_instances(dag_id, run_id)
        engine._remember_stored(tis)
        engine._load(tis)
        return engine

    def _verify_integrity(self, tis: list[TaskInstance], now: datetime) -> list[TaskInstance]:
        """The instances to drive for ``self.dag``: stored ones that still fit it (``removed``
        ones restored to ``none``) and new ones for tasks that had none. The others become
        ``removed`` and go to ``_outside``. Every change is left in ``_changed``."""
        by_task: dict[str, list[TaskInstance]] = {}
        for ti in tis:
            by_task.setdefault(ti.task_id, []).append(ti)
        kept: list[TaskInstance] = []
        for task_id, task_tis in by_task.items():
            task = self.dag.task_dict.get(task_id)
            expanded = any(ti.map_index >= 0 for ti in task_tis)
            for ti in task_tis:
                if task is None:
                    self._remove(ti, now, f"task {task_id!r} is no longer in the DAG")
                elif not _fits(task, ti.map_index, expanded=expanded):
                    self._remove(ti, now, f"task {task_id!r} no longer has this map index")
                else:
                    if ti.state is S.REMOVED:
                        log.info("Run %s: task %s is back in the DAG", ti.run_id, ti.key.label)
                        ti.end_date = None
                        ti.error = None
                        self._assign(ti, S.NONE, rules.RESTORE)
                    kept.append(ti)
        driven = {ti.task_id for ti in kept}
        for task in self.dag.task_dict.values():
            if task.task_id not in driven:
                ti = self._new_ti(task, -1)
                log.info("Run %s: task %s was added to the DAG", ti.run_id, ti.key.label)
                self._changed[(ti.task_id, ti.map_index)] = ti
                kept.append(ti)
        return kept

    def _remove(self, ti: TaskInstance, now: datetime, reason: str) -> None:
        """Set a stored instance that no longer fits the DAG ``removed`` (uncommitted)."""
        self._outside[(ti.task_id, ti.map_index)] = ti
        if ti.state is S.REMOVED:
            return
        log.info("Run %s: %s is removed: %s", ti.run_id, ti.key.label, reason)
        if ti.state is S.RUNNING:
            self._close_attempt(ti, S.REMOVED, now, f"removed: {reason}")
        if ti.state not in FINISHED_STATES:
            ti.end_date = now
        ti.next_retry_at = None
        ti.error = f"removed: {reason}"  # what people see on the instance
        self._assign(ti, S.REMOVED, rules.REMOVE)

    def start(self, now: datetime) -> None:
        """Mark the run running (once)."""
        if self.run.state is DagRunState.QUEUED:
            self._transition_run(DagRunState.RUNNING, rules.RUN_START, now)

    def schedule(self, now: datetime) -> list[TaskInstance]:
        """Move what may run now to SCHEDULED and return it, highest priority first.

        Instances whose retry or next poke is due, and deferred ones that resumed or timed
        out, are scheduled again first (:mod:`headwater.engine.waiting`). Instances whose
        trigger rule can no longer be met become SKIPPED or UPSTREAM_FAILED,
        which may settle their downstream tasks in turn (tasks are evaluated in topological
        order). Mapped tasks whose upstreams are done are expanded here. Tasks that wait on
        the previous run (``depends_on_past``: :mod:`headwater.engine.past_runs`) are
        evaluated again on every call.
        """
        ready = self._pop_due(now)  # retries and pokes due, deferrals resumed or timed out
        self._begin_past_checks()
        while self._dirty:
            task_id = self._task_ids[heapq.heappop(self._dirty)]
            self._dirty_set.discard(task_id)
            if self._counts[task_id][S.NONE]:
                ready.extend(self._evaluate(self.dag.task_dict[task_id], now))
        self._commit()
        ready.sort(key=lambda t: -t.priority_weight)
        return ready

    def _upstream_counts(self, task: BaseOperator) -> UpstreamCounts:
        return setup_teardown.upstream_counts(self._counts, task)

    def _evaluate(self, task: BaseOperator, now: datetime) -> list[TaskInstance]:
        indirect = self._indirect_setups.get(task.task_id, ())
        decision = setup_teardown.setup_constraint(self._counts, indirect) or decide(
            task.trigger_rule, self._upstream_counts(task)
        )
        in_group = group_mapped(task)
        if in_group is not None:  # its instances are decided one by one
            return self._evaluate_in_group(
                in_group, decision, now, held=lambda: self._waits_on_past(task)
            )
        if decision is Decision.WAIT:
            return []
        waiting = [ti for ti in self._tis[task.task_id].values() if ti.state is S.NONE]
        if decision is Decision.SKIP:
            for ti in waiting:
                self._finish(ti, S.SKIPPED, now, rules.TRIGGER_RULE)
            return []
        if decision is Decision.UPSTREAM_FAILED:
            for ti in waiting:
                self._finish(ti, S.UPSTREAM_FAILED, now, rules.TRIGGER_RULE)
            return []
        if self._waits_on_past(task):  # depends_on_past: the previous run is not done
            return []
        if task.is_mapped and -1 in self._tis[task.task_id]:
            return self._expand(task, self._tis[task.task_id][-1], now)
        for ti in waiting:
            self._transition(ti, S.SCHEDULED, rules.TRIGGER_RULE)
        return waiting

    def _expand(
        self, task: BaseOperator, placeholder: TaskInstance, now: datetime
    ) -> list[TaskInstance]:
        """Replace a mapped task's placeholder by one instance per element of its input."""
        from headwater.authoring.mapping import MappedOperator

        assert isinstance(task, MappedOperator)
        try:
            kwargs_list = task.expand_input.resolve(
                lambda ref: self.xcoms.resolve(ref, self.dag.dag_id, self.run.run_id), task.task_id
            )
        except (MappingError, HeadwaterError) as exc:
            placeholder.error = str(exc)
            self._finish(placeholder, S.FAILED, now, rules.EXPAND)
            return []
        if not kwargs_list:
            placeholder.error = "mapped over zero items"
            self._finish(placeholder, S.SKIPPED, now, rules.EXPAND)
            return []
        self._drop(placeholder)
        tries_so_far = self._tries_per_map_index(task.task_id) if placeholder.try_number else {}
        created = []
        for index in range(len(kwargs_list)):
            ti = self._new_ti(task, index)
            ti.try_number = tries_so_far.get(index, 0)
            ti.max_tries = ti.try_number + task.retries + 1
            self._add(ti)
            self._transition(ti, S.SCHEDULED, rules.EXPAND)
            created.append(ti)
        return created

    def _finish(
        self,
        ti: TaskInstance,
        state: TaskInstanceState,
        now: datetime,
        rule: Rule[TaskInstanceState],
    ) -> None:
        ti.end_date = now
        self._transition(ti, state, rule)

    def mark_queued(self, tis: Iterable[TaskInstance]) -> None:
        for ti in tis:
            self._transition(ti, S.QUEUED, rules.QUEUE)
        self._commit()

    def start_attempt(
        self,
        task_id: str,
        map_index: int,
        now: datetime,
        *,
        hostname: str | None = None,
        pid: int | None = None,
        log_path: str | None = None,
        claimed: bool = False,
    ) -> TaskAttempt:
        """Record that a new attempt of the instance began; returns its attempt row.

        ``claimed``: the process running the attempt stored its row already (it claims the
        attempt when it starts it: ``claim_attempt``); only the instance is written here.
        """
        ti = self._tis[task_id][map_index]
        if ti.state not in (S.SCHEDULED, S.QUEUED):
            raise HeadwaterError(f"task instance {ti.key.label!r} is {ti.state}, not queued")
        ti.try_number += 1
        ti.start_date = now
        ti.end_date = None
        ti.error = None
        self._transition(ti, S.RUNNING, rules.START)
        attempt = TaskAttempt(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=ti.try_number,
            state=S.RUNNING,
            start_date=now,
            hostname=hostname,
            pid=pid,
            log_path=log_path,
        )
        self._commit(None if claimed else attempt)
        self._running[(task_id, map_index)] = attempt
        return attempt

    def finish_attempt(
        self, task_id: str, map_index: int, outcome: AttemptOutcome, now: datetime
    ) -> TaskInstanceState:
        """Apply how the running attempt of an instance ended; returns its new state."""
        ti = self._tis[task_id][map_index]
        if ti.state is not S.RUNNING:
            raise HeadwaterError(f"task instance {ti.key.label!r} is {ti.state}, not running")
        attempt = self._current_attempt(ti)
        task = self.dag.task_dict[ti.task_id]
        state = outcome.state
        ti.error = outcome.error
        # The try used how it was to resume, if it was (a deferral sets it again).
        ti.next_method = ti.next_kwargs = ti.trigger_timeout = None
        retry = outcome.retry  # the runtime's decision, which its log and callbacks followed
        if state is S.FAILED and retry is None:  # a lost attempt: no runtime decided
            retry = retries.retry_failed_attempt(ti.try_number, ti.max_tries)
        if state in (S.DEFERRED, S.UP_FOR_RESCHEDULE):
            state = self._wait(ti, outcome, now)  # no worker while it waits
        elif state is S.FAILED and retry:
            ti.next_retry_at = now + retries.retry_delay(task, ti.try_number, outcome.retry_delay)
            ti.end_date = now
            self._transition(ti, S.UP_FOR_RETRY, rules.RETRY)
            heapq.heappush(self._retry_heap, (ti.next_retry_at, ti.task_id, ti.map_index))
            state = S.UP_FOR_RETRY
        else:
            self._finish(ti, state, now, rules.FINISH)
        if state is S.SUCCESS:
            if outcome.follow_branches is not None:
                self._skip_unfollowed(task, outcome.follow_branches, now)
            if outcome.short_circuit is not None:
                self._skip_downstream(task, everything=outcome.short_circuit == "all", now=now)
        # The row as its worker recorded it is the truth; it is written again only to say
        # what the engine made of it (a retry) or when nobody recorded it.
        rewrite = not outcome.recorded or state is not outcome.state
        if rewrite:
            attempt.end_date = now
        attempt.state = state
        attempt.error = outcome.error
        attempt.rendered_fields = outcome.rendered_fields
        attempt.outcome = outcome
        self._commit(attempt if rewrite else None)
        return state

    def _skip_waiting(
        self, task_ids: Iterable[str], now: datetime, rule: Rule[TaskInstanceState]
    ) -> None:
        for task_id in task_ids:
            for ti in list(self._tis[task_id].values()):
                if ti.state is S.NONE:
                    self._finish(ti, S.SKIPPED, now, rule)

    def _skip_unfollowed(self, task: BaseOperator, follow: list[str], now: datetime) -> None:
        """Skip the direct downstream tasks of a branch that it did not choose.

        A task group id stands for its root tasks. As in Airflow (``skip_all_except``), a
        direct downstream task that is also downstream of a chosen task is kept: in
        ``branch >> [process, join]; process >> join``, choosing ``process`` leaves ``join``
        to its trigger rule instead of skipping it (the "empty branch" case).
        """
        chosen: set[str] = set()
        for task_id in follow:
            group = self.dag.task_groups.get(task_id)
            if group is not None:
                chosen.update(t.task_id for t in group._downstream_endpoints())
            elif task_id in self.dag.task_dict:
                chosen.add(task_id)
        followed = set(chosen)
        for task_id in chosen:
            followed.update(t.task_id for t in self.dag.task_dict[task_id].get_flat_relatives())
        unfollowed = [d for d in task.downstream_task_ids if d not in followed]
        self._skip_waiting(unfollowed, now, rules.BRANCH)

    def _skip_downstream(self, task: BaseOperator, *, everything: bool, now: datetime) -> None:
        # Teardowns are left to their trigger rule, as in Airflow: they clean up after a
        # short circuit too.
        below = task.get_flat_relatives() if everything else task.downstream_list
        self._skip_waiting(
            [t.task_id for t in below if not t.is_teardown], now, rules.SHORT_CIRCUIT
        )

    def finalize(self, now: datetime, *, force_state: DagRunState | None = None) -> DagRunState:
        """Set and store the run's final state: failed if any leaf failed, else success."""
        state = self._leaves_state() if force_state is None else force_state
        self._transition_run(state, rules.RUN_FINISH, now)
        return state

    def _leaves_state(self) -> DagRunState:
        leaves = [t.task_id for t in effective_leaves(self.dag)]  # teardowns left out
        failed = any(self._counts[leaf][s] for leaf in leaves for s in FAILED_STATES)
        return DagRunState.FAILED if failed else DagRunState.SUCCESS

    def force_schedule(self, task_id: str, map_index: int = -1) -> TaskInstance:
        """Schedule one instance whatever its upstreams (``tasks test``); mapped tasks expand."""
        task = self.dag.get_task(task_id)
        now = self.run.start_date or self.run.logical_date
        in_group = group_mapped(task)
        if in_group is not None:
            self._force_expand_in_group(in_group, now)
            if map_index < 0 and -1 not in self._tis[task_id]:
                map_index = 0
        elif task.is_mapped and -1 in self._tis[task_id]:
            self._expand(task, self._tis[task_id][-1], now)
            if map_index < 0:
                map_index = 0
        ti = self._tis[task_id].get(map_index)
        if ti is None:
            raise HeadwaterError(f"task {task_id!r} has no map index {map_index}")
        self._transition(ti, S.SCHEDULED, rules.FORCE_SCHEDULE)
        self._commit()
        return ti


def _fits(task: BaseOperator, map_index: int, *, expanded: bool) -> bool:
    """Whether an instance at ``map_index`` belongs to ``task`` as the DAG now defines it: an
    unmapped task has one instance (-1); a mapped one its placeholder (-1) until it expanded,
    then its map indexes (0..n-1)."""
    if not task.is_mapped:
        return map_index == -1
    return (map_index >= 0) == expanded
