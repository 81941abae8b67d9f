"""The records the engine reads and writes through a store: runs, task instances, attempts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from headwater.authoring.retry_policies import MAX_RETRY_DELAY
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.shown_text import quoted

_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]{1,250}$")


def validate_run_id(run_id: str) -> str:
    """``run_id`` if it is safe to store and to name a folder with, else a clear error."""
    from headwater.exceptions import HeadwaterError

    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or run_id in (".", ".."):
        raise HeadwaterError(
            f"run_id {quoted(run_id)} is not valid: use 1-250 letters, digits and _ . ~ : + -"
        )
    return run_id


class TaskInstanceKey(NamedTuple):
    """Identifies one task instance; ``map_index`` is -1 for a task that is not mapped."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @property
    def label(self) -> str:
        """``task_id`` or ``task_id[map_index]``: how people see it."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"

    def attempt(self, try_number: int) -> AttemptKey:
        """The key of try ``try_number`` of this instance."""
        return AttemptKey(self.dag_id, self.run_id, self.task_id, self.map_index, try_number)


class AttemptKey(NamedTuple):
    """Identifies one attempt: one try of one task instance. A result that names an older
    try than the instance is at is stale and never applied."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    @property
    def ti_key(self) -> TaskInstanceKey:
        return TaskInstanceKey(self.dag_id, self.run_id, self.task_id, self.map_index)

    @property
    def label(self) -> str:
        """``task_id`` or ``task_id[map_index]``, and the try: how people see it."""
        return f"{self.ti_key.label} (try {self.try_number})"


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_type: str = "manual"
    state: DagRunState = DagRunState.QUEUED
    conf: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    start_date: datetime | None = None
    end_date: datetime | None = None
    note: str | None = None
    backfill_id: int | None = None
    """The backfill that created or reran this run (its ``max_active_runs`` applies)."""
    partition_key: str | None = None
    """The partition this run works on (``2024-01-31``, ``eu``), for partitioned DAGs."""

    @property
    def partition_date(self) -> datetime | None:
        """The moment the run's partition key stands for (Airflow's ``partition_date``): not
        stored, it follows from the DAG and the key; set on the run a task's context holds
        (:func:`headwater.engine.run_partitions.partition_date`). None otherwise."""
        return self.__dict__.get("_partition_date")

    @partition_date.setter
    def partition_date(self, value: datetime | None) -> None:
        self.__dict__["_partition_date"] = value


@dataclass
class TaskInstance:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    state: TaskInstanceState = TaskInstanceState.NONE
    try_number: int = 0
    """Attempts started so far; the running or last attempt's number."""
    max_tries: int = 0
    """1 + the task's retries when the instance was created."""
    start_date: datetime | None = None
    end_date: datetime | None = None
    next_retry_at: datetime | None = None
    """When an ``up_for_retry`` instance retries, or an ``up_for_reschedule`` one pokes again."""
    error: str | None = None
    priority_weight: int = 1
    pool: str = "default_pool"
    pool_slots: int = 1
    queue: str = "default"
    next_method: str | None = None
    """Set when a deferred instance resumes: the method of the task its next try calls
    instead of ``execute`` (``execute_complete``), or ``__timeout__`` when its trigger timed
    out (the try fails with a deferral timeout)."""
    next_kwargs: dict[str, Any] | None = None
    """The keyword arguments of ``next_method``: those the task deferred with, plus ``event``
    (the payload of the trigger event) once the trigger fired."""
    trigger_timeout: datetime | None = None
    """While deferred: when the deferral times out if its trigger has not fired."""

    @property
    def key(self) -> TaskInstanceKey:
        return TaskInstanceKey(self.dag_id, self.run_id, self.task_id, self.map_index)


@dataclass
class TaskAttempt:
    """One try of one task instance (one row per try)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: TaskInstanceState
    start_date: datetime
    end_date: datetime | None = None
    hostname: str | None = None
    pid: int | None = None
    error: str | None = None
    log_path: str | None = None
    rendered_fields: dict[str, Any] = field(default_factory=dict)
    outcome: AttemptOutcome | None = None
    """How the attempt ended, as whoever ran it recorded it (durably, before telling anyone):
    what a scheduler that restarts applies instead of running the attempt again."""

    @property
    def key(self) -> AttemptKey:
        return AttemptKey(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)

    @property
    def duration(self) -> float | None:
        if self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


@dataclass(frozen=True)
class Deferral:
    """What an attempt that deferred itself waits for: a trigger, and how to resume.

    ``trigger_classpath`` and ``trigger_kwargs`` are the trigger's ``serialize()`` (JSON
    values only): the triggerer builds the trigger again from them, in another process,
    after any restart.
    """

    trigger_classpath: str
    trigger_kwargs: dict[str, Any]
    method_name: str = "execute_complete"
    method_kwargs: dict[str, Any] = field(default_factory=dict)
    timeout_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger_classpath": self.trigger_classpath,
            "trigger_kwargs": self.trigger_kwargs,
            "method_name": self.method_name,
            "method_kwargs": self.method_kwargs,
            "timeout_at": None if self.timeout_at is None else self.timeout_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Deferral:
        timeout = data.get("timeout_at")
        return cls(
            trigger_classpath=str(data["trigger_classpath"]),
            trigger_kwargs=dict(data.get("trigger_kwargs") or {}),
            method_name=str(data.get("method_name") or "execute_complete"),
            method_kwargs=dict(data.get("method_kwargs") or {}),
            timeout_at=None if timeout is None else datetime.fromisoformat(timeout),
        )


@dataclass(frozen=True)
class OutletEvent:
    """One asset event a successful attempt emits (recorded with its outcome, exactly once).

    ``uri`` names the asset; ``alias`` the asset alias it was added through, if any;
    ``extra`` is the JSON metadata the task attached; ``partition_key`` the partition it
    updated, for partitioned assets.
    """

    uri: str
    extra: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None
    partition_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "extra": self.extra,
            "alias": self.alias,
            "partition_key": self.partition_key,
        }

    @classmethod
    def from_json(cls, data: Any) -> OutletEvent:
        return cls(
            uri=str(data["uri"]),
            extra=dict(data.get("extra") or {}),
            alias=None if data.get("alias") is None else str(data["alias"]),
            partition_key=(
                None if data.get("partition_key") is None else str(data["partition_key"])
            ),
        )


@dataclass
class AttemptOutcome:
    """How an attempt ended, as the task runtime (or an executor that lost it) reports it."""

    state: TaskInstanceState
    """SUCCESS, SKIPPED or FAILED; the engine turns FAILED into UP_FOR_RETRY when ``retry``.
    DEFERRED (with ``deferral``) or UP_FOR_RESCHEDULE (with ``reschedule_at``) when the
    attempt handed its wait to a trigger or a sensor will poke again later."""
    error: str | None = None
    retry: bool | None = None
    """For FAILED: whether the attempt is retried, as the runtime decided with
    :func:`headwater.engine.retries.retry_failed_attempt` (and told the log and callbacks).
    None when no runtime decided (the attempt was lost): the engine asks the same rule."""
    retry_delay: timedelta | None = None
    """For a retried FAILED: the wait the task's retry policy chose instead of the task's
    ``retry_delay`` (:mod:`headwater.authoring.retry_policies`); None: the task's."""
    retry_reason: str | None = None
    """Why the task's retry policy retried or failed the attempt, as it said (at most 500
    characters)."""
    follow_branches: list[str] | None = None
    """Set by branch tasks: the downstream task ids to follow; other direct downstreams skip."""
    short_circuit: str | None = None
    """Set by short-circuit tasks: "direct" or "all" downstream tasks are skipped."""
    rendered_fields: dict[str, Any] = field(default_factory=dict)
    """The attempt's template fields after rendering, kept for display."""
    lost: bool = False
    """Set by an executor that saw the process running the attempt disappear without being
    able to tell whether the attempt even reached it (a worker adopted after a scheduler
    restart that ended without recording an outcome): the attempt runs again, not counted as
    a retry, unless an outcome was recorded after all."""
    rejected: bool = False
    """The attempt was not run here: its row had been claimed already (the same try started
    elsewhere, a message delivered twice). Such a report carries no outcome: the process
    that claimed the attempt reports it."""
    recorded: bool = False
    """Whether whoever ran the attempt stored this outcome with the attempt (compare-and-set
    on the running attempt row) before reporting it; an outcome an executor made up (a dead
    or killed worker) is not recorded yet."""
    deferral: Deferral | None = None
    """For DEFERRED: the trigger the instance waits on. The store creates the trigger's row
    when it records this outcome, in the same transaction."""
    reschedule_at: datetime | None = None
    """For UP_FOR_RESCHEDULE: when the sensor pokes again."""
    outlet_events: list[OutletEvent] = field(default_factory=list)
    """For SUCCESS: the asset events the attempt emits. The store records them (and queues
    the DAGs scheduled on their assets) when it records this outcome, in the same
    transaction."""

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON-compatible values (for messages and the attempt row)."""
        return {
            "deferral": None if self.deferral is None else self.deferral.to_json(),
            "reschedule_at": (
                None if self.reschedule_at is None else self.reschedule_at.isoformat()
            ),
            "outlet_events": [event.to_json() for event in self.outlet_events],
            "state": self.state.value,
            "error": self.error,
            "retry": self.retry,
            "retry_delay_s": (
                None if self.retry_delay is None else self.retry_delay.total_seconds()
            ),
            "retry_reason": self.retry_reason,
            "follow_branches": self.follow_branches,
            "short_circuit": self.short_circuit,
            "rendered_fields": self.rendered_fields,
            "recorded": self.recorded,
        }

    @classmethod
    def from_json(cls, data: Any) -> AttemptOutcome:
        """The outcome :meth:`to_json` wrote; a clear error for anything else."""
        from headwater.exceptions import HeadwaterError

        try:
            state = TaskInstanceState(data["state"])
            if state not in OUTCOME_STATES:
                raise ValueError(f"{state.value} is not how an attempt ends")
            follow = data.get("follow_branches")
            deferral = data.get("deferral")
            reschedule_at = data.get("reschedule_at")
            retry_delay_s = data.get("retry_delay_s")
            if retry_delay_s is not None and (
                isinstance(retry_delay_s, bool)
                or not isinstance(retry_delay_s, (int, float))
                or not 0 <= retry_delay_s <= _MAX_RETRY_DELAY_S
            ):
                raise ValueError(f"retry_delay_s {retry_delay_s!r:.40} is not a delay")
            outcome = cls(
                state,
                error=_optional(data.get("error"), str, "error"),
                retry=_optional(data.get("retry"), bool, "retry"),
                retry_delay=None if retry_delay_s is None else timedelta(seconds=retry_delay_s),
                retry_reason=_optional(data.get("retry_reason"), str, "retry_reason"),
                follow_branches=None if follow is None else [str(t) for t in follow],
                short_circuit=_optional(data.get("short_circuit"), str, "short_circuit"),
                rendered_fields=dict(data.get("rendered_fields") or {}),
                recorded=bool(data.get("recorded", False)),
                deferral=None if deferral is None else Deferral.from_json(deferral),
                reschedule_at=(
                    None if reschedule_at is None else datetime.fromisoformat(reschedule_at)
                ),
                outlet_events=[OutletEvent.from_json(e) for e in data.get("outlet_events") or []],
            )
            if (state is TaskInstanceState.DEFERRED) != (outcome.deferral is not None):
                raise ValueError("a deferred outcome, and only one, has a deferral")
            if (state is TaskInstanceState.UP_FOR_RESCHEDULE) != (reschedule_at is not None):
                raise ValueError("a rescheduled outcome, and only one, has reschedule_at")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HeadwaterError(f"not an attempt outcome: {exc}") from None
        return outcome


_MAX_RETRY_DELAY_S = MAX_RETRY_DELAY.total_seconds()

OUTCOME_STATES = frozenset(
    {
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
        TaskInstanceState.SKIPPED,
        TaskInstanceState.DEFERRED,
        TaskInstanceState.UP_FOR_RESCHEDULE,
    }
)
"""The states an attempt ends in (the engine turns a retried FAILED into UP_FOR_RETRY)."""


def _optional(value: Any, kind: type, name: str) -> Any:
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{name} must be {kind.__name__}, not {type(value).__name__}")
    return value
