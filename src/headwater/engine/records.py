"""The records the engine reads and writes through a store: runs, task instances, attempts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

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
    error: str | None = None
    priority_weight: int = 1
    pool: str = "default_pool"
    pool_slots: int = 1
    queue: str = "default"

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

    @property
    def duration(self) -> float | None:
        if self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


@dataclass
class AttemptOutcome:
    """How an attempt ended, as the task runtime (or an executor that lost it) reports it."""

    state: TaskInstanceState
    """SUCCESS, SKIPPED or FAILED; the engine turns FAILED into UP_FOR_RETRY when ``retry``."""
    error: str | None = None
    retry: bool | None = None
    """For FAILED: whether the attempt is retried, as the runtime decided with
    :func:`headwater.engine.retries.retry_failed_attempt` (and told the log and callbacks).
    None when no runtime decided (the attempt was lost): the engine asks the same rule."""
    follow_branches: list[str] | None = None
    """Set by branch tasks: the downstream task ids to follow; other direct downstreams skip."""
    short_circuit: str | None = None
    """Set by short-circuit tasks: "direct" or "all" downstream tasks are skipped."""
    rendered_fields: dict[str, Any] = field(default_factory=dict)
    """The attempt's template fields after rendering, kept for display."""
