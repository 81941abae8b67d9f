"""The one Celery task: run an attempt message in a worker and return how it ended, as JSON.

The message is an :class:`~headwater.executors.messages.AttemptMessage` as JSON; the worker
runs it with :func:`~headwater.runtime.remote_attempt.run_payload` on its **own** settings
(its database URL from its environment: messages carry no credentials), which claims the
attempt first (a second delivery of the same try is refused: ``rejected``), runs it and
records its outcome with its XComs before returning (on Redis it also writes the result
itself: :func:`~headwater.celery_executor.results.write_result`). Meanwhile the process's heartbeat
thread beats for the attempt's row (:mod:`headwater.celery_executor.attempt_heartbeat`).

The result is ``{"outcome": ..., "rejected": ..., "hostname": ..., "pid": ...}``
(:func:`outcome_from_result` reads it back in the scheduler).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from headwater.celery_executor.attempt_heartbeat import AttemptLiveness, process_beats
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import TaskTimeoutError

log = logging.getLogger(__name__)

_HOSTNAME = socket.gethostname()


def run_attempt(task: Any, payload: Any) -> dict[str, Any]:
    """Celery task body (``bind=True``: ``task`` is the Celery task): run ``payload``."""
    # results imports this module
    from headwater.celery_executor.results import write_result, write_started
    from headwater.runtime.remote_attempt import run_payload, worker_store

    key = _key_of(payload)
    try:
        write_started(task, _HOSTNAME, os.getpid())
    except Exception as exc:  # the result store away: the attempt's own claim still tells
        log.warning("Could not say that task %s started: %s", task.request.id, exc)
    try:
        store, _ = worker_store()
    except Exception:
        store = None  # run_payload fails the attempt saying why
    with _terminated_as_said(task, _timeout_of(payload)):
        if key is None or not isinstance(store, AttemptLiveness):
            outcome = run_payload(payload)
        else:
            beats = process_beats(store, _heartbeat_interval_s())
            with beats.running(key):
                outcome = run_payload(payload)
    result = result_of(outcome)
    if task.ignore_result:  # a Redis result backend: the result is written here, in one SET
        try:
            write_result(task, result)
        except Exception as exc:  # the outcome is in the database: the scheduler reads it there
            log.warning("Could not store the result of task %s: %s", task.request.id, exc)
    return result


class AttemptRevoked(SystemExit):
    """SIGTERM reached the pool process running an attempt: its Celery task was revoked."""


@contextlib.contextmanager
def _terminated_as_said(task: Any, timeout_s: float | None) -> Iterator[None]:
    """While the attempt runs, a SIGTERM from the pool (a revoke, or the hard time limit of a
    task that ignored the runtime's own timeout) fails it saying which, instead of billiard's
    bare ``SystemExit(-241)``; the process dies as before once the attempt is recorded (the
    pool sends SIGKILL 0.1 s after SIGTERM)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    started = time.monotonic()
    hard_limit = _hard_time_limit(task)

    def on_sigterm(signum: int, frame: Any) -> None:
        elapsed = time.monotonic() - started
        if timeout_s is not None and hard_limit is not None and elapsed >= hard_limit - 1.0:
            raise TaskTimeoutError(
                f"task timed out after {timeout_s:g} seconds (execution_timeout), at the "
                "Celery worker's hard time limit (it ignored the runtime's own timeout)"
            )
        raise AttemptRevoked("killed: its Celery task was revoked")

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _hard_time_limit(task: Any) -> float | None:
    limits = getattr(task.request, "timelimit", None) or (None, None)
    return float(limits[0]) if limits[0] else None


def _timeout_of(payload: Any) -> float | None:
    try:
        value = payload.get("timeout_s")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


@functools.cache
def _heartbeat_interval_s() -> float:
    """``[scheduler] heartbeat_interval_s`` of this worker's settings (read once: settings
    are read when a worker process starts, as its database URL is)."""
    from headwater.settings import load_settings

    return load_settings().scheduler.heartbeat_interval_s


def result_of(outcome: AttemptOutcome) -> dict[str, Any]:
    """What the task returns for ``outcome`` (JSON)."""
    return {
        "outcome": outcome.to_json(),
        "rejected": outcome.rejected,
        "hostname": _HOSTNAME,
        "pid": os.getpid(),
    }


def outcome_from_result(result: Any) -> AttemptOutcome:
    """The outcome a finished task returned; a FAILED outcome naming the problem when the
    result is not what :func:`run_attempt` returns (another version of headwater)."""
    from dataclasses import replace

    from headwater.exceptions import HeadwaterError

    try:
        outcome = AttemptOutcome.from_json(result["outcome"])
    except (HeadwaterError, KeyError, TypeError) as exc:
        error = f"the Celery worker returned a result headwater cannot read: {exc}"
        return AttemptOutcome(TaskInstanceState.FAILED, error=error)
    return replace(outcome, rejected=bool(result.get("rejected", False)))


def _key_of(payload: Any) -> AttemptKey | None:
    try:
        return AttemptKey(
            str(payload["dag_id"]),
            str(payload["run_id"]),
            str(payload["task_id"]),
            int(payload["map_index"]),
            int(payload["try_number"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
