"""The engine's part of what ends without a worker's word: a run ended before its tasks are
done, and an attempt lost with the process that ran it.

A run ends early past its ``dagrun_timeout`` (:meth:`EarlyEnds.time_out`), or when its DAG
is gone (:meth:`EarlyEnds.remove_unfinished`): each unfinished instance ends by the rule of
that end, its running attempt is closed with the reason, and the run fails with the reason
as its note. An attempt lost with its scheduler (:meth:`EarlyEnds.requeue_lost`) is closed
``failed`` and its instance scheduled again with one more try, so the loss does not count
against its retries. The instances that were queued or running are returned, for the
driver to kill.
"""

from __future__ import annotations

from datetime import datetime

from headwater.engine import transitions as rules
from headwater.engine.records import TaskAttempt, TaskInstance
from headwater.engine.run_state import RunState
from headwater.engine.states import FINISHED_STATES, DagRunState, TaskInstanceState
from headwater.engine.transitions import Rule
from headwater.exceptions import HeadwaterError

S = TaskInstanceState


class EarlyEnds(RunState):
    """Ending a run early, putting back lost attempts, and closing the attempts they cut."""

    def fail_unfinished(self, now: datetime, reason: str) -> list[TaskInstance]:
        """End the run early (dagrun_timeout): unfinished instances are skipped, a running
        attempt fails, each with ``reason``, and the run fails with it as its note.

        Returns the instances that were queued or running, for the driver to kill.
        """
        return self._end_unfinished(now, reason, rules.RUN_TIMEOUT, S.FAILED, reason)

    def remove_unfinished(self, now: datetime, reason: str) -> list[TaskInstance]:
        """End the run because its DAG is gone: unfinished instances end ``removed`` (a
        running attempt too), each with ``reason``, and the run ``failed`` with it as its note.

        Returns the instances that were queued or running, for the scheduler to stop.
        """
        return self._end_unfinished(now, reason, rules.REMOVE, S.REMOVED, f"removed: {reason}")

    def time_out(self, now: datetime) -> list[TaskInstance]:
        """End the run past its ``dagrun_timeout`` (see :meth:`timed_out`), as every driver
        does: :meth:`fail_unfinished` with the reason that names the timeout. Returns the
        instances that were queued or running, for the caller to kill."""
        timeout = self.dag.dagrun_timeout
        return self.fail_unfinished(now, f"run timed out after {timeout} (dagrun_timeout)")

    def _end_unfinished(
        self,
        now: datetime,
        reason: str,
        rule: Rule[TaskInstanceState],
        attempt_state: TaskInstanceState,
        error: str,
    ) -> list[TaskInstance]:
        [state] = rule.targets
        active = []
        for ti in self.task_instances():
            if ti.state in FINISHED_STATES:
                continue
            if ti.state in (S.QUEUED, S.RUNNING):
                active.append(ti)
            if ti.state is S.RUNNING:
                self._close_attempt(ti, attempt_state, now, error)
            ti.next_retry_at = None  # a retry that was waiting will not come
            ti.error = error  # what people see on the instance
            ti.end_date = now
            self._transition(ti, state, rule)
        self._commit()
        self.run.note = reason
        self._transition_run(DagRunState.FAILED, rules.RUN_END_EARLY, now)
        return active

    def requeue_lost(self, task_id: str, map_index: int, now: datetime, reason: str) -> None:
        """Put back an instance whose attempt was lost with the process that ran it (its
        scheduler stopped), without counting the lost attempt against its retries.

        A queued instance goes back to SCHEDULED; a running one's attempt ends FAILED with
        ``reason``, and the instance gets one more try and goes back to SCHEDULED.
        """
        ti = self._tis[task_id][map_index]
        if ti.state is S.RUNNING:
            self._close_attempt(ti, S.FAILED, now, reason)
            ti.max_tries += 1
        elif ti.state is not S.QUEUED:
            raise HeadwaterError(f"task instance {ti.key.label!r} is {ti.state}, not lost")
        self._transition(ti, S.SCHEDULED, rules.LOST_ATTEMPT)
        self._commit()

    def _close_attempt(
        self, ti: TaskInstance, state: TaskInstanceState, now: datetime, reason: str
    ) -> None:
        try:
            attempt = self._current_attempt(ti)
        except HeadwaterError:
            return  # never recorded (the process died before its attempt row was written)
        attempt.state = state
        attempt.end_date = now
        attempt.error = reason
        self._save_attempt(attempt)

    def _current_attempt(self, ti: TaskInstance) -> TaskAttempt:
        attempt = self._running.pop((ti.task_id, ti.map_index), None)
        if attempt is not None:
            return attempt
        for stored in self.store.get_attempts(ti.dag_id, ti.run_id, ti.task_id):
            if stored.map_index == ti.map_index and stored.try_number == ti.try_number:
                return stored
        raise HeadwaterError(f"task instance {ti.key.label!r} has no attempt {ti.try_number}")
