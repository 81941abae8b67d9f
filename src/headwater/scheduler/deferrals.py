"""The scheduler's part of deferral: resuming deferred instances whose trigger fired or
failed, quickly, and deleting orphan triggers.

The triggerer's only write is a trigger's end (``fire_trigger`` / ``fail_trigger``). The
scheduler looks for ended triggers on every turn of its loop while any instance it drives is
deferred, and on every full pass: each one's instance resumes through the engine (rule
``resume``), and the trigger is deleted in the same unit of work as that write, so a trigger
resumes its instance once, across crashes (a rolled-back resume leaves the trigger to be seen
again). While anything is deferred the loop's wait on the executor is cut to
:data:`DEFERRED_POLL_S`, so a fired trigger is noticed within that time without a busy loop;
:meth:`Deferrals.wake` (a triggerer in the same process) makes the next turn look too.
Deferral timeouts need nothing here: the engine's retry heap schedules them (``resume`` with
``__timeout__``) and the loop wakes for them as for retries.

A trigger whose instance moved on (cleared, marked, its run ended or timed out) is an orphan:
deleted when met, and by :meth:`Deferrals._delete_orphan_triggers` every
:data:`ORPHAN_CHECK_S` on a full pass.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from headwater.runtime.inline_triggers import resume_from_trigger
from headwater.scheduler.scheduler_state import S, SchedulerState
from headwater.store.triggers import FAILED, FIRED, TriggerStore

log = logging.getLogger("headwater.scheduler.scheduler")

DEFERRED_POLL_S = 0.02
"""The longest the loop waits on the executor while an instance it drives is deferred:
what a fired trigger may wait before the scheduler sees it (the issue's target is an event
to task start under 50 ms at the median)."""


ORPHAN_CHECK_S = 30.0
"""How often a full pass deletes orphan triggers (a write transaction: not every pass).
Those the scheduler meets, and those of timed-out deferrals, cleared or marked instances,
are deleted at once anyway."""


class Deferrals(SchedulerState):
    """Resuming deferred instances; orphan triggers."""

    _orphans_deleted_at: datetime | None = None

    def wake(self) -> None:
        """Make the loop's next turn look for ended triggers (a triggerer in this process
        fired one). Safe from any thread. While an instance this scheduler drives is
        deferred, a turn comes at least every :data:`DEFERRED_POLL_S` anyway; ``wake`` also
        covers a run it does not hold in memory yet."""
        self._triggers_ended.set()

    def _any_deferred(self) -> bool:
        return any(active.engine.has_deferred() for active in self._runs.values())

    def _deferral_wait(self, wait: float) -> float:
        """``wait``, cut to :data:`DEFERRED_POLL_S` while anything is deferred or a wake
        came."""
        if self._triggers_ended.is_set() or self._any_deferred():
            return min(wait, DEFERRED_POLL_S)
        return wait

    def _resume_triggered(self, now: datetime) -> bool:
        """Resume the instances whose trigger fired or failed (inside a
        ``_one_transaction`` block: the trigger is deleted in its unit of work); whether any
        resumed. Cheap when nothing is deferred: no query."""
        self._drop_timed_out_triggers()
        woken = self._triggers_ended.is_set()
        self._triggers_ended.clear()
        if not woken and not self._any_deferred():
            return False
        resumed = False
        for row in self.store.list_triggers([FIRED, FAILED]):
            key = row.key
            active = self._runs.get((key.dag_id, key.run_id))
            if active is None:
                continue  # not driven here (yet): its run is loaded on a later pass
            ti = active.engine.instances_of(key.task_id).get(key.map_index)
            if ti is not None and ti.state is S.RUNNING and ti.try_number == key.try_number:
                continue  # the worker recorded the deferral; it is applied on this turn
            if resume_from_trigger(active.engine, row, now):
                log.info(
                    "Task %s of run %s resumes: its trigger %s",
                    key.ti_key.label,
                    key.run_id,
                    "fired" if row.state == FIRED else f"failed ({row.error})",
                )
                self._dirty.add((key.dag_id, key.run_id))
                resumed = True
            self._write_with_transaction(functools.partial(_delete_trigger, trigger_id=row.id))
        return resumed

    def _drop_timed_out_triggers(self) -> None:
        """Delete the triggers of deferrals that timed out (with this transaction), so the
        triggerer stops running them at once."""
        for active in self._runs.values():
            for key in active.engine.take_timed_out():
                row = self.store.get_trigger_of(key)
                if row is not None:
                    trigger_id = row.id
                    self._write_with_transaction(
                        functools.partial(_delete_trigger, trigger_id=trigger_id)
                    )

    def _delete_orphan_triggers(self, now: datetime) -> None:
        last = self._orphans_deleted_at
        if last is not None and (now - last).total_seconds() < ORPHAN_CHECK_S:
            return
        self._orphans_deleted_at = now
        deleted = self.store.delete_orphan_triggers()
        if deleted:
            log.info("Deleted %d trigger(s) whose task instance moved on", deleted)


def _delete_trigger(store: TriggerStore, trigger_id: int) -> None:
    store.delete_trigger(trigger_id)
