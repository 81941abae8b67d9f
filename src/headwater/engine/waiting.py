"""Waiting without a worker: the engine's part of deferral and reschedule-mode sensors.

An attempt may end without finishing its instance:

* ``DEFERRED`` (the task called ``self.defer(...)``): the instance moves ``running →
  deferred`` (rule ``defer``) and keeps how it resumes (``next_method``, ``next_kwargs``,
  ``trigger_timeout``). Its trigger was stored with the outcome. When the trigger fires or
  fails (the scheduler, or ``dags test``, sees it) or ``trigger_timeout`` passes,
  :meth:`WaitingStates.resume` moves it ``deferred → scheduled`` (rule ``resume``) with one
  more try, so the new try is not counted as a retry.
* ``UP_FOR_RESCHEDULE`` (a sensor in ``mode="reschedule"``): ``running →
  up_for_reschedule`` (rule ``reschedule``) with ``next_retry_at`` set to the next poke;
  when that is due, ``up_for_reschedule → scheduled`` (rule ``reschedule_due``), one more
  try too.

Both wait on the engine's retry heap, with ``up_for_retry`` instances: its entries are
(when, task id, map index), and one that no longer matches its instance is dropped when
met. Neither holds a worker or a pool slot: no executor has the instance.
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime
from typing import Any

from headwater.engine import transitions as rules
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskInstance
from headwater.engine.run_state import RunState, due_at
from headwater.engine.states import TaskInstanceState

log = logging.getLogger(__name__)

S = TaskInstanceState

TIMEOUT_METHOD = "__timeout__"
"""``next_method`` of an instance whose deferral timed out: its next try fails with
:class:`~headwater.exceptions.TaskDeferralTimeout`."""
FAIL_METHOD = "__fail__"
"""``next_method`` of an instance whose trigger failed: its next try fails with
:class:`~headwater.exceptions.TaskDeferralError` (``next_kwargs["error"]`` says why)."""


class WaitingStates(RunState):
    """Deferred and up-for-reschedule instances: entering, leaving, and when they are due."""

    def _wait(self, ti: TaskInstance, outcome: AttemptOutcome, now: datetime) -> TaskInstanceState:
        """Apply an attempt that ended ``DEFERRED`` or ``UP_FOR_RESCHEDULE`` (uncommitted);
        returns the state the attempt row ends in. An outcome missing what it needs (a
        deferral without a trigger, a reschedule without a time) fails the attempt."""
        if outcome.state is S.DEFERRED and outcome.deferral is not None:
            deferral = outcome.deferral
            ti.next_method = deferral.method_name
            ti.next_kwargs = dict(deferral.method_kwargs)
            ti.trigger_timeout = deferral.timeout_at
            self._transition(ti, S.DEFERRED, rules.DEFER)
            self._push_due(ti)
            return S.DEFERRED
        if outcome.state is S.UP_FOR_RESCHEDULE and outcome.reschedule_at is not None:
            ti.next_retry_at = outcome.reschedule_at
            ti.end_date = now
            self._transition(ti, S.UP_FOR_RESCHEDULE, rules.RESCHEDULE)
            self._push_due(ti)
            return S.UP_FOR_RESCHEDULE
        what = "a deferral" if outcome.state is S.DEFERRED else "a reschedule time"
        ti.error = outcome.error = f"the attempt ended {outcome.state.value} without {what}"
        ti.end_date = now
        self._transition(ti, S.FAILED, rules.FINISH)
        return S.FAILED

    def _push_due(self, ti: TaskInstance) -> None:
        at = due_at(ti)
        if at is not None:
            heapq.heappush(self._retry_heap, (at, ti.task_id, ti.map_index))

    def resume(
        self,
        task_id: str,
        map_index: int,
        now: datetime,
        *,
        payload: Any = None,
        error: str | None = None,
        timed_out: bool = False,
    ) -> TaskInstance | None:
        """Resume a deferred instance (rule ``resume``, committed): its trigger fired with
        ``payload``, failed with ``error``, or its deferral ``timed_out``. Its next try calls
        ``next_method(context, event=payload, **kwargs)`` (or fails with the trigger's error
        or a deferral timeout), and is not counted as a retry. None, changing nothing, when
        the instance is not deferred (cleared, marked, timed out already); the instance
        otherwise (:meth:`schedule` returns it with what became ready)."""
        ti = self._tis.get(task_id, {}).get(map_index)
        if ti is None or ti.state is not S.DEFERRED:
            return None
        self._resume(ti, payload=payload, error=error, timed_out=timed_out)
        self._commit()
        return ti

    def _resume(
        self, ti: TaskInstance, *, payload: Any, error: str | None, timed_out: bool
    ) -> None:
        kwargs = dict(ti.next_kwargs or {})
        if timed_out:
            log.info("Run %s: the deferral of %s timed out", ti.run_id, ti.key.label)
            ti.next_method, kwargs = TIMEOUT_METHOD, {}
            self._timed_out.append(ti.key.attempt(ti.try_number))
        elif error is not None:
            log.info("Run %s: the trigger of %s failed: %s", ti.run_id, ti.key.label, error)
            ti.next_method, kwargs = FAIL_METHOD, {"error": error}
        else:
            kwargs["event"] = payload
        ti.next_kwargs = kwargs
        ti.trigger_timeout = None
        ti.max_tries += 1
        self._transition(ti, S.SCHEDULED, rules.RESUME)
        self._resumed.append(ti)

    def _pop_due(self, now: datetime) -> list[TaskInstance]:
        """Instances whose wait is over at ``now`` (uncommitted): retries and pokes due,
        deferrals timed out, and instances resumed since the last call; all ``scheduled``."""
        ready = [ti for ti in self._resumed if ti.state is S.SCHEDULED]
        self._resumed.clear()
        while self._retry_heap and self._retry_heap[0][0] <= now:
            at, task_id, map_index = heapq.heappop(self._retry_heap)
            ti = self._tis[task_id].get(map_index)
            if ti is None or due_at(ti) != at:
                continue  # that wait ended otherwise (cleared, marked, resumed)
            if ti.state is S.UP_FOR_RETRY:
                ti.next_retry_at = None
                self._transition(ti, S.SCHEDULED, rules.RETRY_DUE)
            elif ti.state is S.UP_FOR_RESCHEDULE:
                ti.next_retry_at = None
                ti.max_tries += 1
                self._transition(ti, S.SCHEDULED, rules.RESCHEDULE_DUE)
            else:
                self._resume(ti, payload=None, error=None, timed_out=True)
                self._resumed.clear()
            ready.append(ti)
        return ready

    def schedule_due(self, now: datetime) -> list[TaskInstance]:
        """Only the waits that are over at ``now`` (see :meth:`_pop_due`), committed: for a
        driver of one task (``tasks test``) that evaluates no other."""
        ready = self._pop_due(now)
        self._commit()
        return ready

    def next_retry_at(self) -> datetime | None:
        """When the earliest wait ends, if any: a retry or a poke due, or a deferral timing
        out (the driver and the scheduler sleep no longer than that)."""
        while self._retry_heap:
            at, task_id, map_index = self._retry_heap[0]
            ti = self._tis[task_id].get(map_index)
            if ti is not None and due_at(ti) == at:
                return at
            heapq.heappop(self._retry_heap)
        return None

    def take_timed_out(self) -> list[AttemptKey]:
        """The attempts whose deferral timed out since the last call (their triggers are
        orphans now)."""
        keys, self._timed_out = self._timed_out, []
        return keys

    def has_deferred(self) -> bool:
        """Whether any instance waits on a trigger (cheap: a count kept with each change)."""
        return self._deferred_count > 0

    def deferred_instances(self) -> list[TaskInstance]:
        """The instances waiting on a trigger."""
        return self.instances_in(S.DEFERRED)
