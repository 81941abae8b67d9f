"""A LocalExecutor over ``worker_tasks.run`` for the executor's tests, and how they wait.

Tests wait for events with deadlines and assert on outcomes, pids and files, never on
timings.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import worker_tasks

from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.executors.local import Dispatch, LocalExecutor, WorkerInfo

WORKER_FUNCTION = f"{worker_tasks.__name__}:run"
DEADLINE_S = 15.0


def wait_until(condition: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie nobody reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state in (b"Z", b"X")


class Pool:
    """A LocalExecutor over ``worker_tasks.run``, recording what prepare() was asked."""

    def __init__(self, **options: Any) -> None:
        self.payloads: dict[AttemptKey, tuple[str, dict[str, Any]] | None] = {}
        self.timeouts: dict[AttemptKey, float] = {}
        self.prepared: list[tuple[AttemptKey, WorkerInfo]] = []
        options.setdefault("parallelism", 2)
        options.setdefault("worker_function", WORKER_FUNCTION)
        self.executor = LocalExecutor(prepare=self.prepare, **options)

    def prepare(self, key: AttemptKey, worker: WorkerInfo) -> Dispatch | None:
        self.prepared.append((key, worker))
        payload = self.payloads[key]
        if payload is None:
            return None
        action, kwargs = payload
        if action == "check_marker":
            Path(kwargs["path"]).write_text("prepared")
            payload = (action, {**kwargs, "pid": worker.pid})
        return Dispatch(payload=payload, timeout_s=self.timeouts.get(key))

    def submit(
        self, task_id: str, action: str | None, timeout_s: float | None = None, **kwargs: Any
    ) -> AttemptKey:
        key = AttemptKey("dag", "run", task_id, -1, 1)
        self.payloads[key] = None if action is None else (action, kwargs)
        if timeout_s is not None:
            self.timeouts[key] = timeout_s
        self.executor.queue(key)
        return key

    def collect(self, count: int) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Poll (and heartbeat) until ``count`` outcomes came back."""
        got: list[tuple[AttemptKey, AttemptOutcome]] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < count:
            assert time.monotonic() < deadline, f"only {len(got)} of {count} outcomes: {got}"
            self.executor.heartbeat()
            got += self.executor.poll(timeout=0.5)
        return got

    def outcome(self, key: AttemptKey) -> AttemptOutcome:
        [(reported, outcome)] = self.collect(1)
        assert reported == key
        return outcome

    def wait_until(self, condition: Callable[[], Any], what: str) -> Any:
        """``wait_until``, keeping the executor going meanwhile: a worker started for a
        queued key gets it once it says it is ready, which the executor reads when polled."""

        def pumped() -> Any:
            self.executor.heartbeat()
            return condition()

        return wait_until(pumped, what)

    def pid_of(self, key: AttemptKey) -> int:
        return next(worker.pid for k, worker in self.prepared if k == key)

    def worker_pids(self) -> set[int]:
        return {
            p.pid
            for p in multiprocessing.active_children()
            if p.name.startswith("headwater-worker-") and p.pid is not None
        }
