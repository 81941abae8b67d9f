"""States of task instances and DAG runs, and which of them are final.

A task instance starts with no state (``NONE``), is ``SCHEDULED`` when the engine
decides it may run, ``QUEUED`` once handed to an executor, ``RUNNING`` while an
attempt executes, and ends in one of ``FINISHED_STATES``. ``UP_FOR_RETRY`` waits
for its retry delay and then becomes ``SCHEDULED`` again. ``REMOVED`` marks an instance
whose task left the DAG while its run was unfinished: it is finished, trigger rules leave it
out of their counts, and it does not decide the run's state.
"""

from __future__ import annotations

from enum import StrEnum


class TaskInstanceState(StrEnum):
    """Where one task instance (a task, in a run, at a map index) stands."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    UP_FOR_RETRY = "up_for_retry"
    REMOVED = "removed"


class DagRunState(StrEnum):
    """Where one DAG run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


FINISHED_STATES: frozenset[TaskInstanceState] = frozenset(
    {
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
        TaskInstanceState.SKIPPED,
        TaskInstanceState.UPSTREAM_FAILED,
        TaskInstanceState.REMOVED,
    }
)
"""Task instance states that never change again within a run (unless cleared)."""

FAILED_STATES: frozenset[TaskInstanceState] = frozenset(
    {TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED}
)

UNFINISHED_STATES: frozenset[TaskInstanceState] = frozenset(
    set(TaskInstanceState) - FINISHED_STATES
)

FINISHED_RUN_STATES: frozenset[DagRunState] = frozenset({DagRunState.SUCCESS, DagRunState.FAILED})
