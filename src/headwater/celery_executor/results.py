"""Reading what Celery's result backend says of the attempts a scheduler watches, and the
worker's word that an attempt started.

One round trip for a whole batch on Redis (``MGET`` of the tasks' result keys and of their
started markers); other backends (``rpc://``) are asked task by task.

On Redis the worker writes both itself, one ``SET`` each: :func:`write_started` a marker beside
the result key as its attempt starts, :func:`write_result` the result as it ends (the task is
registered with ``ignore_result``; failures Celery itself notices, a dead child process or a
hard time limit, are still stored by Celery). Celery's own writes read the stored state before
each write and publish each value to subscribers nobody has here: a ``GET`` and a
``MULTI``/``SETEX``/``PUBLISH`` transaction for every state. Elsewhere the task says STARTED
with Celery's state and returns its result for Celery to store. A task the backend knows
nothing of yet is
left out (PENDING: still in the queue). A failed task (its worker process died, a hard time
limit, a revoke) becomes a FAILED outcome that says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.celery_executor.worker_task import outcome_from_result
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState

__all__ = [
    "TIMED_OUT",
    "TaskReport",
    "failure_text",
    "read_reports",
    "write_result",
    "write_started",
    "writes_results_itself",
]

TIMED_OUT = "timed out after its time limit"
"""How a hard time limit's outcome begins (the executor puts the attempt's timeout in)."""

_STARTED = "STARTED"
_SUCCESS = "SUCCESS"
_ENDED = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
_STARTED_SUFFIX = "-started"
"""The started marker's key: the task's result key and this."""


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
        keys += [backend.get_key_for_task(task_id, _STARTED_SUFFIX) for task_id in task_ids]
        values = backend.mget(keys)
        results, markers = values[: len(task_ids)], values[len(task_ids) :]
        for task_id, result, marker in zip(task_ids, results, markers, strict=True):
            value = result if result is not None else marker
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


def writes_results_itself(result_backend_url: str) -> bool:
    """Whether workers write started markers and results themselves (a Redis result backend;
    the app then registers the task with ``ignore_result``)."""
    return result_backend_url.lower().startswith(("redis://", "rediss://"))


def write_started(task: Any, hostname: str, pid: int) -> None:
    """Say that the Celery task ``task`` (bound: ``task.request.id``) started its attempt on
    ``hostname`` in process ``pid``: a marker beside its result key (one write) on Redis,
    else the STARTED state."""
    info = {"hostname": hostname, "pid": pid}
    if task.ignore_result:
        _set(task, _STARTED_SUFFIX, {"status": _STARTED, "result": info})
    else:
        task.update_state(state=_STARTED, meta=info)


def write_result(task: Any, result: dict[str, Any]) -> None:
    """Store what the task returns as its SUCCESS result, with one write (Redis only: the
    task then ignores its result, see :func:`writes_results_itself`)."""
    _set(task, "", {"status": _SUCCESS, "result": result})


def _set(task: Any, suffix: str, meta: dict[str, Any]) -> None:
    """One ``SET`` (with the results' expiry) of ``meta`` under the task's result key and
    ``suffix``, retried as Celery retries its own writes (the backend's retry policy)."""
    import functools

    backend, task_id = task.backend, task.request.id
    value = backend.encode({**meta, "task_id": task_id})
    key = backend.get_key_for_task(task_id, suffix)
    expires = int(backend.expires) if backend.expires else None
    backend.ensure(functools.partial(backend.client.set, ex=expires), (key, value))


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
