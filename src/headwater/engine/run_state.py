"""What a run's engine knows and how it writes: the instances it drives, their counts per
state, the one place a state changes (``_transition``, checked against the transition table),
and the writes to the store (each change committed at once, or kept for one later
transaction: :meth:`RunState.defer_writes` and :meth:`RunState.flush`).

:class:`~headwater.engine.dagrun.DagRunEngine` builds the decisions on it.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.authoring.setup_teardown import indirect_setups
from headwater.engine import transitions as rules
from headwater.engine.records import (
    AttemptKey,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.run_factory import new_task_instance
from headwater.engine.states import (
    FINISHED_STATES,
    DagRunState,
    TaskInstanceState,
)
from headwater.engine.transitions import Rule

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.ports import EngineStore
    from headwater.engine.xcoms import XComs

log = logging.getLogger(__name__)

S = TaskInstanceState


def due_at(ti: TaskInstance) -> datetime | None:
    """When a waiting instance is due: its retry or next poke, or its deferral's timeout."""
    if ti.state in (S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE):
        return ti.next_retry_at
    if ti.state is S.DEFERRED:
        return ti.trigger_timeout
    return None


class RunState:
    """The state of one run's engine, its primitives of change, and its writes."""

    def __init__(self, dag: DAG, store: EngineStore, xcoms: XComs, run: DagRun) -> None:
        self.dag = dag
        self.store = store
        self.xcoms = xcoms
        self.run = run
        self._task_ids = [t.task_id for t in dag.topological_sort()]
        self._order = {task_id: i for i, task_id in enumerate(self._task_ids)}
        self._tis: dict[str, dict[int, TaskInstance]] = {tid: {} for tid in dag.task_dict}
        self._counts: dict[str, Counter[TaskInstanceState]] = {
            tid: Counter() for tid in dag.task_dict
        }
        self._unfinished = 0
        self._deferred_count = 0
        """How many driven instances are ``deferred`` (the scheduler asks on every turn)."""
        self._dirty: list[int] = []  # heap of topological indexes of tasks to evaluate
        self._dirty_set: set[str] = set()
        self._retry_heap: list[tuple[datetime, str, int]] = []
        """(when, task id, map index) of each waiting instance: a retry or a poke due, a
        deferral's timeout (:func:`due_at`); entries that no longer match are dropped."""
        self._resumed: list[TaskInstance] = []
        self._timed_out: list[AttemptKey] = []
        """The attempts whose deferral timed out since :meth:`take_timed_out` last ran: their
        triggers are orphans, for a driver that holds the triggers to delete at once."""
        """Deferred instances resumed since :meth:`schedule` last ran (it returns them)."""
        self._indirect_setups = indirect_setups(dag)
        """Setups each task waits for beyond its direct upstream tasks (their scope)."""
        self._scoped_by: dict[str, list[str]] = {}
        """The other way round: for each such setup, the tasks that wait for it."""
        for task_id, setup_ids in self._indirect_setups.items():
            for setup_id in setup_ids:
                self._scoped_by.setdefault(setup_id, []).append(task_id)
        self._changed: dict[tuple[str, int], TaskInstance] = {}
        self._running: dict[tuple[str, int], TaskAttempt] = {}
        self._deleted: list[TaskInstance] = []
        self._outside: dict[tuple[str, int], TaskInstance] = {}
        """Stored instances the engine does not drive: those of tasks no longer in the DAG,
        and those at a map index the task no longer has (all ``removed`` in an unfinished
        run)."""
        self._deferring = False
        """Whether writes wait for :meth:`flush` (see :meth:`defer_writes`)."""
        self._pending_tis: dict[tuple[str, int], TaskInstance] = {}
        self._pending_deleted: dict[tuple[str, int], TaskInstanceKey] = {}
        self._pending_attempts: dict[tuple[str, int, int], TaskAttempt] = {}
        self._pending_run = False
        self._pending_expected: dict[tuple[str, int], tuple[TaskInstanceState, int] | None] = {}
        """For each instance changed since :meth:`defer_writes`: what the store held before."""
        self._expected: dict[tuple[str, int], tuple[TaskInstanceState, int]] = {}
        """Each stored instance's (state, try number) as last read or written: what a store
        that compares and sets will be asked to find before it writes a change."""
        self._run_stored = run.state
        """The run's state as last read or written: what the store must still hold when the
        engine writes the run (a person's clear or mark meanwhile makes the write stale)."""

    def _new_ti(self, task: BaseOperator, map_index: int) -> TaskInstance:
        return new_task_instance(self.dag.dag_id, self.run.run_id, task, map_index)

    def _remember_stored(self, tis: Iterable[TaskInstance]) -> None:
        """Note the (state, try number) each instance has in the store, as read, before
        anything changes it: what each later write expects to find there."""
        for ti in tis:
            self._expected.setdefault((ti.task_id, ti.map_index), (ti.state, ti.try_number))

    def _load(self, tis: Iterable[TaskInstance]) -> None:
        """Drive ``tis`` (the stored ones were remembered first: :meth:`_remember_stored`)."""
        for ti in tis:
            if ti.task_id not in self._tis:
                self._outside[(ti.task_id, ti.map_index)] = ti  # a task no longer in the DAG
                continue
            self._tis[ti.task_id][ti.map_index] = ti
            self._counts[ti.task_id][ti.state] += 1
            self._deferred_count += ti.state is S.DEFERRED
            if ti.state not in FINISHED_STATES:
                self._unfinished += 1
            if (at := due_at(ti)) is not None:
                heapq.heappush(self._retry_heap, (at, ti.task_id, ti.map_index))
        for task_id in self._tis:
            self._mark_dirty(task_id)

    # -- queries -------------------------------------------------------------------------------

    def task_instances(self) -> list[TaskInstance]:
        """The instances the engine drives (not the ``removed`` ones of vanished tasks)."""
        return [ti for by_index in self._tis.values() for ti in by_index.values()]

    def instances_of(self, task_id: str) -> dict[int, TaskInstance]:
        """The driven instances of one task by map index (none for a task not in the DAG)."""
        return dict(self._tis.get(task_id, {}))

    def get_ti(self, task_id: str, map_index: int = -1) -> TaskInstance:
        """One instance of the run, ``removed`` ones included (an executor may still report
        on an attempt of a task that left the DAG)."""
        ti = self._tis.get(task_id, {}).get(map_index)
        if ti is None:
            ti = self._outside.get((task_id, map_index))
        if ti is None:
            raise KeyError((task_id, map_index))
        return ti

    def removed_instances(self) -> list[TaskInstance]:
        """Stored instances the engine does not drive: ``removed`` in an unfinished run."""
        return list(self._outside.values())

    @property
    def is_finished(self) -> bool:
        return self._unfinished == 0

    # -- state changes -------------------------------------------------------------------------

    def _transition(
        self, ti: TaskInstance, state: TaskInstanceState, rule: Rule[TaskInstanceState]
    ) -> None:
        """Move a driven instance to ``state`` by ``rule`` (uncommitted), keeping the counts
        and waking its downstream tasks when it finishes; raises ``IllegalTransitionError``
        when ``rule`` does not make that change."""
        old = ti.state
        rules.check(rules.describe(ti), old, state, rule)
        if old is state:
            return
        counts = self._counts[ti.task_id]
        counts[old] -= 1
        counts[state] += 1
        self._deferred_count += (state is S.DEFERRED) - (old is S.DEFERRED)
        was_done, is_done = old in FINISHED_STATES, state in FINISHED_STATES
        if is_done and not was_done:
            self._unfinished -= 1
            for down in self.dag.task_dict[ti.task_id].downstream_task_ids:
                self._mark_dirty(down)
            for scoped in self._scoped_by.get(ti.task_id, ()):  # a setup they wait for
                self._mark_dirty(scoped)
        elif was_done and not is_done:
            self._unfinished += 1
        if state is S.NONE:  # back to waiting (cleared): its trigger rule decides again
            self._mark_dirty(ti.task_id)
        ti.state = state
        self._changed[(ti.task_id, ti.map_index)] = ti

    def _assign(
        self, ti: TaskInstance, state: TaskInstanceState, rule: Rule[TaskInstanceState]
    ) -> None:
        """:meth:`_transition` for an instance the counts do not hold (being loaded, or
        outside the DAG)."""
        rules.check(rules.describe(ti), ti.state, state, rule)
        ti.state = state
        self._changed[(ti.task_id, ti.map_index)] = ti

    def _transition_run(self, state: DagRunState, rule: Rule[DagRunState], now: datetime) -> None:
        """Move the run to ``state`` by ``rule`` and store it."""
        rules.check(
            f"run {self.run.run_id!r} of DAG {self.dag.dag_id!r}", self.run.state, state, rule
        )
        self.run.state = state
        if state is DagRunState.RUNNING:
            self.run.start_date = now
        elif state is DagRunState.QUEUED:
            self.run.start_date = self.run.end_date = None
        else:
            self.run.end_date = now
        if self._deferring:
            self._pending_run = True
        else:
            self._save_run(self.store)

    def _save_run(self, store: EngineStore) -> None:
        """Write the run by compare-and-set on the state it had when last read or written."""
        store.save_dag_run(self.run, expected_state=self._run_stored)
        self._run_stored = self.run.state

    def _add(self, ti: TaskInstance) -> None:
        """Drive a new instance (uncommitted)."""
        self._tis[ti.task_id][ti.map_index] = ti
        self._counts[ti.task_id][ti.state] += 1
        self._deferred_count += ti.state is S.DEFERRED
        if ti.state not in FINISHED_STATES:
            self._unfinished += 1
        if ti.state is S.NONE:
            self._mark_dirty(ti.task_id)
        self._changed[(ti.task_id, ti.map_index)] = ti

    def _drop(self, ti: TaskInstance) -> None:
        """Stop driving an instance and delete it at the next commit (a mapped task's
        placeholder when it expands, its instances when all are cleared)."""
        del self._tis[ti.task_id][ti.map_index]
        self._counts[ti.task_id][ti.state] -= 1
        self._deferred_count -= ti.state is S.DEFERRED
        if ti.state not in FINISHED_STATES:
            self._unfinished -= 1
        self._changed.pop((ti.task_id, ti.map_index), None)
        self._deleted.append(ti)

    def _mark_dirty(self, task_id: str) -> None:
        if task_id not in self._dirty_set:
            self._dirty_set.add(task_id)
            heapq.heappush(self._dirty, self._order[task_id])

    def defer_writes(self) -> None:
        """Keep every change in memory until :meth:`flush`: a driver that makes several
        decisions (attempts that started and ended, what they made ready, what it queued)
        stores them in one transaction, and acts on them only after it committed."""
        self._deferring = True

    def flush(self, store: EngineStore) -> None:
        """Write what changed since :meth:`defer_writes` through ``store`` (a unit of work),
        each instance, attempt and the run once, as they are now; writes go straight to the
        store again afterwards."""
        self._deferring = False
        for attempt in self._pending_attempts.values():
            store.save_attempt(attempt)
        tis, deleted = list(self._pending_tis.values()), list(self._pending_deleted.values())
        if tis or deleted:
            expected = {
                ti.key: seen
                for key, ti in self._pending_tis.items()
                if key not in self._pending_deleted
                and (seen := self._pending_expected.get(key)) is not None
            }
            store.save_task_instances(tis, delete=deleted, expected=expected)
        self._pending_expected.clear()
        if self._pending_run:
            self._save_run(store)
        self._pending_tis.clear()
        self._pending_deleted.clear()
        self._pending_attempts.clear()
        self._pending_run = False

    def _commit(self, attempt: TaskAttempt | None = None) -> None:
        """Store the instances changed since the last commit (and ``attempt``), atomically
        (or keep them for :meth:`flush`)."""
        changed = list(self._changed.values())
        deleted = [ti.key for ti in self._deleted]
        if self._deferring:
            for key in deleted:
                self._pending_tis.pop((key.task_id, key.map_index), None)
                self._pending_deleted[(key.task_id, key.map_index)] = key
                self._pending_expected.setdefault(
                    (key.task_id, key.map_index), self._expected.get((key.task_id, key.map_index))
                )
            for ti in changed:
                self._pending_tis[(ti.task_id, ti.map_index)] = ti
                self._pending_expected.setdefault(
                    (ti.task_id, ti.map_index), self._expected.get((ti.task_id, ti.map_index))
                )
            if attempt is not None:
                self._save_attempt(attempt)
        else:
            # Compare-and-set: each instance the store holds is written only if it still has
            # the (state, try number) this engine last read or wrote; a new one is inserted.
            deleted_set = {(key.task_id, key.map_index) for key in deleted}
            expected = {
                ti.key: self._expected[(ti.task_id, ti.map_index)]
                for ti in changed
                if (ti.task_id, ti.map_index) in self._expected
                and (ti.task_id, ti.map_index) not in deleted_set
            }
            if attempt is not None:
                self.store.save_attempt_with_task_instances(
                    attempt, changed, delete=deleted, expected=expected
                )
            elif changed or deleted:
                self.store.save_task_instances(changed, delete=deleted, expected=expected)
        for ti in changed:
            self._expected[(ti.task_id, ti.map_index)] = (ti.state, ti.try_number)
        for key in deleted:
            self._expected.pop((key.task_id, key.map_index), None)
        self._changed.clear()
        self._deleted.clear()

    def _save_attempt(self, attempt: TaskAttempt) -> None:
        if self._deferring:
            key = (attempt.task_id, attempt.map_index, attempt.try_number)
            self._pending_attempts[key] = attempt
        else:
            self.store.save_attempt(attempt)

    def instances_in(self, *states: TaskInstanceState) -> list[TaskInstance]:
        return [
            ti
            for task_id, by_index in self._tis.items()
            if any(self._counts[task_id][s] for s in states)
            for ti in by_index.values()
            if ti.state in states
        ]

    def deadline(self) -> datetime | None:
        """When the run times out (its start + ``dagrun_timeout``), if it has a timeout and
        has started."""
        timeout = self.dag.dagrun_timeout
        start = self.run.start_date
        if timeout is None or start is None:
            return None
        return start + timeout

    def timed_out(self, now: datetime) -> bool:
        """Whether the run is past its deadline (:meth:`deadline`)."""
        deadline = self.deadline()
        return deadline is not None and now > deadline
