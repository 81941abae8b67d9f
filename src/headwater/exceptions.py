"""Every error headwater raises, under one root.

    HeadwaterError
    ├── DagDefinitionError          a DAG or task is described wrongly (caught at load time)
    │   ├── DuplicateTaskIdError
    │   ├── CycleError
    │   ├── InvalidTriggerRuleError
    │   ├── InvalidScheduleError
    │   └── MappingError            .expand() over something that is not a list or dict
    ├── DagImportError              a DAG file failed to import (file, line, exception)
    ├── DagNotFoundError / TaskNotFoundError
    ├── ParamValidationError        a run's conf does not satisfy the DAG's params
    ├── InvalidPartitionKeyError    a partition key (or range) a DAG's partitions lack
    ├── TemplateRenderError         a template field failed to render (names task, field, name)
    ├── XComError                   a value cannot be serialized, or is too large
    ├── IllegalTransitionError      a state change no rule of the transition table allows
    ├── StaleWriteError             a compare-and-set write found the row changed by another writer
    ├── TaskDeferralTimeout         a deferred task's trigger did not fire in time
    ├── TaskDeferralError           a deferred task's trigger failed
    └── TaskControlFlow             raised inside a task to steer its outcome
        ├── TaskSkipped             end the attempt as skipped
        ├── TaskRescheduled         a sensor in reschedule mode pokes again later
        └── TaskFailedNoRetry       fail at once, ignoring remaining retries
            └── SensorTimeout       a sensor waited past its timeout

    BaseException (a task's ``except Exception`` cannot swallow them)
    ├── TaskDeferred                ``self.defer(...)``: wait on a trigger, slot freed
    └── TaskTimeoutError            the attempt ran past its execution_timeout

Users catch ``headwater.HeadwaterError``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class HeadwaterError(Exception):
    """Root of every error raised by headwater."""


class DagDefinitionError(HeadwaterError):
    """A DAG, task or dependency is described wrongly."""


class DuplicateTaskIdError(DagDefinitionError):
    """Two tasks in one DAG share an id."""


class CycleError(DagDefinitionError):
    """The task dependencies form a cycle."""


class InvalidTriggerRuleError(DagDefinitionError):
    """A trigger rule name is not one of the known rules."""


class InvalidScheduleError(DagDefinitionError):
    """A schedule is not a cron string, preset, timedelta or None."""


class MappingError(DagDefinitionError):
    """Dynamic task mapping was given something it cannot expand."""


class DagImportError(HeadwaterError):
    """A DAG file failed to import."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


class DagNotFoundError(HeadwaterError):
    """No DAG with the requested id was found."""


class TaskNotFoundError(HeadwaterError):
    """No task with the requested id exists in the DAG."""


class ParamValidationError(HeadwaterError):
    """A run's conf does not satisfy the DAG's params."""


class InvalidPartitionKeyError(HeadwaterError, ValueError):
    """A partition key, or range of keys, that a partitioning does not have (the message
    names the key and the partitioning)."""


class TemplateRenderError(HeadwaterError):
    """A template field failed to render."""


class XComError(HeadwaterError):
    """A value passed between tasks cannot be stored."""


class IllegalTransitionError(HeadwaterError):
    """A task instance or run was to change state in a way its transition table forbids
    (``headwater.engine.transitions``): the message names it, both states and the rule."""


class StaleWriteError(HeadwaterError):
    """A compare-and-set write found its row changed since the writer read it.

    ``instance`` names the task instance (``dag_id/run_id/task_id[map_index]``) or the run
    (``dag_id/run_id``, ``what="run"``); ``expected`` is what the writer last saw and
    ``stored`` what the store holds, each a ``(state, try_number)`` pair (a run: its state)
    or None (no such row). The store writes nothing of the
    refused change (a unit of work rolls back whole).
    """

    def __init__(
        self,
        instance: str,
        expected: tuple[str, int] | str | None,
        stored: tuple[str, int] | str | None,
        *,
        what: str = "task instance",
    ) -> None:
        self.instance = instance
        self.expected = expected
        self.stored = stored
        super().__init__(
            f"{what} {instance}: expected {_shown_version(expected)}, "
            f"stored {_shown_version(stored)} (another writer changed it)"
        )


def _shown_version(version: tuple[str, int] | str | None) -> str:
    if version is None:
        return "no row"
    if isinstance(version, str):  # a run's state
        return f"state {version!r}"
    state, try_number = version
    return f"state {state!r} at try {try_number}"


class TaskControlFlow(HeadwaterError):
    """Raised inside a task to steer the outcome of the attempt."""


class TaskSkipped(TaskControlFlow):
    """End the running attempt as skipped."""


class TaskFailedNoRetry(TaskControlFlow):
    """Fail the running attempt and do not retry it."""


class TaskRescheduled(TaskControlFlow):
    """End the running attempt ``up_for_reschedule``: a sensor in reschedule mode pokes
    again at ``reschedule_at`` (in a new try, its worker slot free meanwhile)."""

    def __init__(self, reschedule_at: datetime) -> None:
        self.reschedule_at = reschedule_at
        super().__init__(f"rescheduled to {reschedule_at.isoformat()}")


class SensorTimeout(TaskFailedNoRetry):
    """A sensor waited longer than its ``timeout``: it fails without retrying (or is
    skipped with ``soft_fail=True``)."""


class TaskDeferralTimeout(HeadwaterError):
    """A deferred task's trigger did not fire within the deferral's ``timeout``."""


class TaskDeferralError(HeadwaterError):
    """A deferred task's trigger failed (it raised, or could not be built)."""


class TaskDeferred(BaseException):
    """Raised by :meth:`BaseOperator.defer`: end the attempt ``deferred`` on ``trigger``.

    The worker slot is freed; the triggerer runs the trigger, and when it fires the task
    resumes in a new try by calling ``method_name(context, event=payload, **kwargs)``.
    A ``BaseException`` (as Airflow's), so that a task's ``except Exception`` cannot
    swallow it.
    """

    def __init__(
        self,
        *,
        trigger: Any,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | None = None,
    ) -> None:
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = dict(kwargs or {})
        self.timeout = timeout
        super().__init__(f"deferred to {type(trigger).__name__}, resuming in {method_name}")


class TaskTimeoutError(BaseException):
    """The attempt ran past its execution_timeout.

    A ``BaseException``, not a :class:`HeadwaterError` (as Airflow's ``AirflowTaskTimeout``):
    a task's own ``except Exception`` cannot swallow it and go on running.
    """
