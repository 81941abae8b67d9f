"""The runtime's part of waiting without a worker: deferring to a trigger, rescheduling a
sensor, and resuming.

* A task that raises :class:`~headwater.exceptions.TaskDeferred` (``self.defer(...)``) ends
  its attempt ``DEFERRED`` with a :class:`~headwater.engine.records.Deferral`: the trigger's
  ``serialize()``, the method to resume in and its keyword arguments (JSON values, checked
  here so a bad one fails the attempt with a clear error instead of the store's), and when
  the deferral times out.
* A sensor that raises :class:`~headwater.exceptions.TaskRescheduled` ends its attempt
  ``UP_FOR_RESCHEDULE`` with the time of its next poke.
* A try of an instance that has ``next_method`` calls that method instead of ``execute``
  (:func:`call_task`); ``__timeout__`` and ``__fail__`` fail the try.
* :func:`reschedule_series` tells a sensor when its wait began and how many pokes it made,
  from the attempt rows.

Neither kind of waiting calls the success or failure callbacks, nor pushes a return value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.records import AttemptOutcome, Deferral, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.engine.waiting import FAIL_METHOD, TIMEOUT_METHOD
from headwater.exceptions import (
    HeadwaterError,
    TaskDeferralError,
    TaskDeferralTimeout,
    TaskDeferred,
    TaskRescheduled,
)
from headwater.masking import redact_text
from headwater.sensors.base import BaseSensorOperator
from headwater.triggers.base import BaseTrigger

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.runtime.logs import AttemptLog
    from headwater.store.base import MetadataStore

S = TaskInstanceState


def call_task(task: BaseOperator, ti: TaskInstance, context: dict[str, Any]) -> Any:
    """Run the attempt's code: ``execute(context)``, or for a resumed instance
    ``next_method(context, event=..., **kwargs)``; its return value is the XCom as usual."""
    method = ti.next_method
    if method is None:
        return task.execute(context)
    kwargs = dict(ti.next_kwargs or {})
    if method == TIMEOUT_METHOD:
        if isinstance(task, BaseSensorOperator):
            # As Airflow: a sensor's deferral times out as the sensor (no retry; skipped
            # with soft_fail), not as a failure that retries.
            task.time_out(task.timeout)
        raise TaskDeferralTimeout(
            f"task {task.task_id!r}: its trigger did not fire before the deferral timed out"
        )
    if method == FAIL_METHOD:
        raise TaskDeferralError(
            f"task {task.task_id!r}: its trigger failed: {kwargs.get('error') or 'no reason'}"
        )
    resume: Callable[..., Any] | None = getattr(task, method, None)
    if not callable(resume):
        raise HeadwaterError(
            f"task {task.task_id!r} deferred to resume in {method!r}, which "
            f"{type(task).__name__} does not have"
        )
    return resume(context, **kwargs)


def deferred_outcome(
    exc: TaskDeferred,
    task: BaseOperator,
    started: datetime,
    now: datetime,
    attempt_log: AttemptLog,
    rendered: dict[str, Any],
) -> AttemptOutcome:
    """The outcome of an attempt that deferred itself: DEFERRED with its deferral.

    The deferral times out ``exc.timeout`` after ``now``, and no later than the task's
    ``execution_timeout`` after the attempt ``started`` (as in Airflow: the timeout bounds
    the try, its wait included). A trigger
    that is not a :class:`BaseTrigger`, or arguments that are not JSON values, raise a
    :class:`HeadwaterError` naming the task (the attempt fails with it)."""
    trigger = exc.trigger
    if not isinstance(trigger, BaseTrigger):
        raise HeadwaterError(
            f"task {task.task_id!r} deferred to {trigger!r}, which is not a BaseTrigger"
        )
    classpath, trigger_kwargs = trigger.serialize()
    _require_json(trigger_kwargs, f"task {task.task_id!r}: the kwargs of trigger {classpath}")
    _require_json(exc.kwargs, f"task {task.task_id!r}: the kwargs of defer()")
    if not callable(getattr(task, exc.method_name, None)):
        raise HeadwaterError(
            f"task {task.task_id!r} defers to resume in {exc.method_name!r}, which "
            f"{type(task).__name__} does not have"
        )
    limits = [now + exc.timeout] if exc.timeout is not None else []
    if task.execution_timeout is not None:
        limits.append(started + task.execution_timeout)
    timeout_at = min(limits, default=None)
    deferral = Deferral(
        trigger_classpath=classpath,
        trigger_kwargs=dict(trigger_kwargs),
        method_name=exc.method_name,
        method_kwargs=dict(exc.kwargs),
        timeout_at=timeout_at,
    )
    until = "" if timeout_at is None else f" (until {timeout_at.isoformat()})"
    attempt_log.line(
        logging.INFO,
        redact_text(
            f"Deferring to {classpath} {trigger_kwargs}{until}; resuming in {exc.method_name}"
        ),
    )
    return AttemptOutcome(S.DEFERRED, deferral=deferral, rendered_fields=rendered)


def rescheduled_outcome(
    exc: TaskRescheduled, attempt_log: AttemptLog, rendered: dict[str, Any]
) -> AttemptOutcome:
    """The outcome of a sensor's poke that found its condition unmet in reschedule mode."""
    attempt_log.line(logging.INFO, f"Rescheduling: next poke at {exc.reschedule_at.isoformat()}")
    return AttemptOutcome(
        S.UP_FOR_RESCHEDULE, reschedule_at=exc.reschedule_at, rendered_fields=rendered
    )


def reschedule_series(store: MetadataStore, ti: TaskInstance) -> tuple[datetime | None, int]:
    """When the current series of reschedules of ``ti`` began (the start of its first
    poke), and how many pokes it made before this try: the attempts right before this one
    that ended ``up_for_reschedule``. ``(None, 0)`` on a first poke."""
    attempts = [
        a
        for a in store.get_attempts(ti.dag_id, ti.run_id, ti.task_id)
        if a.map_index == ti.map_index and a.try_number < ti.try_number
    ]
    attempts.sort(key=lambda a: a.try_number, reverse=True)
    started: datetime | None = None
    pokes = 0
    for attempt in attempts:
        if attempt.state is not S.UP_FOR_RESCHEDULE:
            break
        started = attempt.start_date
        pokes += 1
    return started, pokes


def _require_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise HeadwaterError(f"{what} must be JSON values: {exc}") from None
