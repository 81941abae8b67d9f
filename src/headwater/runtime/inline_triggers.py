"""Triggers run in this process, for in-process runs (``dags test``, ``dag.test()``,
``headwater.testing.run_dag``), and resuming an instance from its trigger's row (shared with
the scheduler).

There is no triggerer in an in-process run: when nothing else can happen, the driver asks
:class:`InlineTriggers` to run the triggers of the run's deferred instances in one asyncio
loop until the first fires or fails, or until the driver's next due time (a retry, a poke, a
deferral's timeout: measured on the driver's clock, waited in real seconds). A trigger that
fired or failed is written to the store as the triggerer would (``fire_trigger``,
``fail_trigger``), then its instance resumes through the engine and the trigger is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError
from headwater.store.triggers import FAILED, FIRED, WAITING, TriggerRow, TriggerStore
from headwater.triggers.base import BaseTrigger, TriggerEvent, build_trigger, run_coroutine

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.engine.dagrun import DagRunEngine

log = logging.getLogger(__name__)

S = TaskInstanceState


def resume_from_trigger(engine: DagRunEngine, row: TriggerRow, now: datetime) -> bool:
    """Resume the deferred instance of a fired or failed trigger through the engine (rule
    ``resume``); False, changing nothing, when the instance is not deferred on that try any
    more (the trigger is an orphan). The caller deletes the trigger in the same unit of work.
    """
    key = row.key
    ti = engine.instances_of(key.task_id).get(key.map_index)
    if ti is None or ti.state is not S.DEFERRED or ti.try_number != key.try_number:
        return False
    if row.state == FIRED:
        resumed = engine.resume(key.task_id, key.map_index, now, payload=row.payload)
    elif row.state == FAILED:
        error = row.error or "the trigger failed"
        resumed = engine.resume(key.task_id, key.map_index, now, error=error)
    else:
        return False
    return resumed is not None


class InlineTriggers:
    """Runs a run's triggers in this process (see the module's docstring)."""

    def __init__(self, store: TriggerStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def wait(self, engine: DagRunEngine, until: datetime | None) -> bool:
        """Run the triggers of ``engine``'s deferred instances until one fires or fails, or
        ``until`` (None: no limit); resume the instances whose trigger ended. Whether any
        resumed."""
        waiting: dict[int, BaseTrigger] = {}
        for ti in engine.deferred_instances():
            row = self.store.get_trigger_of(ti.key.attempt(ti.try_number))
            if row is None or row.state != WAITING:
                continue
            try:
                waiting[row.id] = build_trigger(row.classpath, row.kwargs)
            except HeadwaterError as exc:
                self.store.fail_trigger(row.id, str(exc), self.clock.now())
        if waiting:
            timeout = None
            if until is not None:
                timeout = max((until - self.clock.now()).total_seconds(), 0.0)
            for trigger_id, result in run_coroutine(_first_events(waiting, timeout)).items():
                if isinstance(result, BaseException):
                    error = f"{type(result).__name__}: {result}"
                    self.store.fail_trigger(trigger_id, error, self.clock.now())
                else:
                    self.store.fire_trigger(trigger_id, result, self.clock.now())
        return self.resume_ended(engine)

    def resume_ended(self, engine: DagRunEngine) -> bool:
        """Resume the deferred instances whose trigger fired or failed, deleting each
        trigger; whether any resumed."""
        resumed = False
        for ti in engine.deferred_instances():
            row = self.store.get_trigger_of(ti.key.attempt(ti.try_number))
            if row is None or row.state == WAITING:
                continue
            resumed = resume_from_trigger(engine, row, self.clock.now()) or resumed
            self.store.delete_trigger(row.id)
        return resumed


async def _first_events(triggers: dict[int, BaseTrigger], timeout: float | None) -> dict[int, Any]:
    """Run ``triggers`` together until the first ends or ``timeout`` seconds pass; the
    payload of each that fired, or the exception of each that failed."""
    tasks = {asyncio.ensure_future(_first_event(t)): i for i, t in triggers.items()}
    done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for trigger in triggers.values():
        with contextlib.suppress(Exception):
            await trigger.cleanup()
    results: dict[int, Any] = {}
    for task in done:
        exc = task.exception()
        results[tasks[task]] = exc if exc is not None else task.result()
    return results


async def _first_event(trigger: BaseTrigger) -> Any:
    events = trigger.run()
    try:
        async for event in events:
            if not isinstance(event, TriggerEvent):
                raise HeadwaterError(f"trigger {trigger!r} yielded {event!r}, not a TriggerEvent")
            return event.payload
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    raise HeadwaterError(f"trigger {trigger!r} ended without an event")
