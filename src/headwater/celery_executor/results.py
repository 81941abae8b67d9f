"""Reading what Celery's result backend says of the attempts a scheduler watches.

One round trip for a whole batch on Redis (``MGET`` of the tasks' result keys); other
backends (``rpc://``) are asked task by task. A task the backend knows nothing of yet is
left out (PENDING: still in the queue). A failed task (its worker process died, a hard time
limit, a revoke) becomes a FAILED outcome that says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.celery_executor.worker_task import outcome_from_result
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState

__all__ = ["TIMED_OUT", "TaskReport", "failure_text", "read_reports"]

TIMED_OUT = "timed out after its time limit"
"""How a hard time limit's outcome begins (the executor puts the attempt's timeout in)."""

_STARTED = "STARTED"
_SUCCESS = "SUCCESS"
_ENDED = frozenset({"SUCCESS", "FAILURE", "REVOKED"})


@dataclass(frozen=True)
class TaskReport:
    """What the backend says of one task: ``started`` (hostname, pid) or ``outcome``."""

    hostname: str = ""
    pid: int = 0
    outcome: AttemptOutcome | None = None


def read_reports(backend: Any, task_ids: list[str]) -> dict[str, TaskReport]:
    """The tasks among ``task_ids`` that started or ended, by task id."""
    from celery.backends.base import BaseKeyValueStoreBackend

    metas: dict[str, dict[str, Any]] = {}
    # Redis's backend is a BaseKeyValueStoreBackend (not a KeyValueStoreBackend, which adds
    # the synchronous waiting mixin): test for the base, or every read is one GET a task.
    if isinstance(backend, BaseKeyValueStoreBackend):
        keys = [backend.get_key_for_task(task_id) for task_id in task_ids]
        for task_id, value in zip(task_ids, backend.mget(keys), strict=True):
            if value is not None:
                metas[task_id] = backend.decode_result(value)
    else:
        for task_id in task_ids:
            metas[task_id] = backend.get_task_meta(task_id)
    reports = {}
    for task_id, meta in metas.items():
        report = _report(meta)
        if report is not None:
            reports[task_id] = report
    return reports


def _report(meta: dict[str, Any]) -> TaskReport | None:
    status = meta.get("status")
    result = meta.get("result")
    if status == _STARTED:
        info = result if isinstance(result, dict) else {}
        return TaskReport(str(info.get("hostname") or ""), _int(info.get("pid")))
    if status not in _ENDED:
        return None
    if status == _SUCCESS and isinstance(result, dict):
        outcome = outcome_from_result(result)
        return TaskReport(str(result.get("hostname") or ""), _int(result.get("pid")), outcome)
    error = failure_text(str(status), result)
    return TaskReport(outcome=AttemptOutcome(TaskInstanceState.FAILED, error=error))


def failure_text(status: str, result: Any) -> str:
    """Why a Celery task that did not return an outcome failed, in a user's words."""
    kind, message = "", str(result)
    if isinstance(result, BaseException):  # the backend rebuilds the worker's exception
        kind = type(result).__name__
    elif isinstance(result, dict):
        kind = str(result.get("exc_type") or "")
        message = str(result.get("exc_message") or "")
    if kind == "TimeLimitExceeded":
        return f"{TIMED_OUT} (execution_timeout); the Celery worker killed the process running it"
    if kind == "WorkerLostError":
        return f"the Celery worker process running it died: {message}"
    if status == "REVOKED" or kind == "TaskRevokedError":
        return "killed: its Celery task was revoked"
    return f"the Celery task failed: {kind or status}: {message}"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
