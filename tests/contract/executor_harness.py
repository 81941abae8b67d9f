"""One adapter per executor for the executor contract (``test_executor_contract.py``).

The contract speaks only the public :class:`~headwater.executors.base.Executor` interface
(``queue``, ``poll``, ``heartbeat``, ``kill``, ``running``, ``adopt``, ``has_work``, ``stop``).
What differs between executors is confined here, so that a change to the interface or to how
an executor is wired is one change in its adapter, not one in every test:

* how an attempt's body reaches whoever runs it: the local executor's ``prepare`` callback
  returns a :class:`~headwater.executors.local.Dispatch` for a worker process; the in-process
  executor's ``run_attempt`` runs it through the real task runtime on a memory store, records
  its outcome (:func:`~headwater.runtime.recorded_attempt.run_and_record`) and returns it, as
  ``dags test`` and ``scheduler.executor = "in_process"`` do;
* how a test acts while an attempt runs: the local executor's attempts run in other
  processes, so the test's thread acts itself; the in-process executor runs an attempt
  synchronously inside ``poll()``, so the action runs on a helper thread meanwhile;
* how a timeout is reached: the local executor's hard timeout follows its injected clock,
  moved past ``timeout_s + kill_grace_s``; the in-process executor relies on the runtime's
  own ``execution_timeout`` (``SIGALRM``, in real time, so a short one);
* which cases do not apply, with the reason (:meth:`ExecutorUnderTest.require` skips them).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import executor_attempts
import pytest

from headwater.authoring.dag import DAG
from headwater.clock import FakeClock
from headwater.engine.records import AttemptKey, AttemptOutcome, DagRun, TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.executors._worker import is_worker
from headwater.executors.base import Executor
from headwater.executors.in_process import InProcessExecutor
from headwater.executors.local import Dispatch, LocalExecutor, WorkerInfo
from headwater.operators import PythonOperator
from headwater.runtime.logs import attempt_log_path
from headwater.runtime.recorded_attempt import run_and_record
from headwater.runtime.task_runner import AttemptRequest
from headwater.store.memory import MemoryStore
from headwater.xcom_serializers import load_serializer

DEADLINE_S = 30.0
"""How long a test waits for something that should happen at once (a safety net, never a
measure: no test asserts on how long anything took)."""

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WORKER_FUNCTION = f"{executor_attempts.__name__}:run_in_worker"
DAG_ID = "contract"


def wait_until(
    condition: Callable[[], Any], what: str, pump: Callable[[], None] | None = None
) -> Any:
    """The first true value of ``condition()``; ``pump()`` keeps the executor going meanwhile."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if pump is not None:
            pump()
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class ExecutorUnderTest(ABC):
    """One executor, started, with what the contract needs to drive it."""

    name: str
    executor: Executor
    stops_running_attempts: bool
    """Whether ``kill(key)`` ends an attempt that is already running."""
    timeout_s: float
    """The ``execution_timeout`` the timeout case gives its attempt."""
    not_applicable: dict[str, str] = {}
    """Cases (``lost_worker``, ``adoption``) this executor has no part in, with the reason."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._helpers: list[_Helper] = []

    # -- what each executor does its own way ---------------------------------------------------

    @abstractmethod
    def _queue(
        self, key: AttemptKey, body: str, kwargs: dict[str, Any], timeout_s: float | None
    ) -> None:
        """Queue ``key``, whose run is ``body(**kwargs)`` under ``timeout_s``."""

    @abstractmethod
    def while_running(self, ready: Path, action: Callable[[], None]) -> None:
        """Call ``action`` once the attempt whose body writes ``ready`` runs (and before the
        outcomes are collected)."""

    @abstractmethod
    def pass_timeout(self, ready: Path) -> None:
        """Make the attempt that writes ``ready`` (queued with :attr:`timeout_s`) overrun."""

    @abstractmethod
    def timeout_error(self) -> str:
        """The error an attempt past :attr:`timeout_s` fails with."""

    def worker_pid(self, key: AttemptKey) -> int:
        """The process running ``key``."""
        raise NotImplementedError

    def leave_running_worker(self, key: AttemptKey, ready: Path, release: Path) -> int:
        """Start ``key`` (a ``hold``) with another executor in another process, kill that
        process with SIGKILL, and return the pid of the worker it leaves running."""
        raise NotImplementedError

    def close(self) -> None:
        self.executor.stop()

    # -- the same for all ----------------------------------------------------------------------

    def require(self, case: str) -> None:
        """Skip the test, with the reason, when ``case`` does not apply to this executor."""
        reason = self.not_applicable.get(case)
        if reason is not None:
            pytest.skip(f"{self.name}: {reason}")

    @staticmethod
    def key(task_id: str, try_number: int = 1) -> AttemptKey:
        """The key of try ``try_number`` of ``task_id`` (in the one run the tests use)."""
        return AttemptKey(DAG_ID, "run", task_id, -1, try_number)

    def submit(
        self,
        task_id: str,
        body: str,
        *,
        try_number: int = 1,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> AttemptKey:
        """Queue try ``try_number`` of ``task_id``, which runs ``body(**kwargs)``."""
        key = self.key(task_id, try_number)
        self._queue(key, body, {k: str(v) for k, v in kwargs.items()}, timeout_s)
        return key

    def collect(self, count: int) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Poll (and heartbeat) until ``count`` attempts were reported; then no more is."""
        got: list[tuple[AttemptKey, AttemptOutcome]] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < count:
            assert time.monotonic() < deadline, f"only {len(got)} of {count} reports: {got}"
            self.executor.heartbeat()
            got += self.executor.poll(timeout=0.2)
        for helper in self._helpers:
            helper.finish()
        self._helpers.clear()
        assert self.executor.poll(timeout=0) == [], "an attempt was reported twice"
        assert not self.executor.has_work
        return got

    def outcome(self, key: AttemptKey) -> AttemptOutcome:
        """The one report there is, which must be about ``key`` (the same try)."""
        [(reported, outcome)] = self.collect(1)
        assert reported == key
        return outcome


class _Helper(threading.Thread):
    """Waits for ``ready``, then calls ``action``; its failure is the test's."""

    def __init__(self, ready: Path, action: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.ready, self.action = ready, action
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            wait_until(self.ready.exists, f"{self.ready} to be written")
            self.action()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self.join(DEADLINE_S)
        assert not self.is_alive(), "the action during the attempt never ended"
        if self.error is not None:
            raise self.error


class InProcessUnderTest(ExecutorUnderTest):
    """:class:`InProcessExecutor` running each attempt through the task runtime, recorded on
    a memory store (one run of a DAG with one ``PythonOperator`` per attempt's task)."""

    name = "in_process"
    stops_running_attempts = False
    timeout_s = 0.5
    not_applicable = {
        "lost_worker": "attempts run inside the scheduler's own process: there is no worker "
        "process to lose (a crash takes the scheduler with it; its successor puts the "
        "attempt back as lost)",
        "adoption": "attempts run inside poll(), in this process: none outlives its executor, "
        "so there is nothing to adopt (adopt() refuses everything)",
    }

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.clock = FakeClock(T0)
        self.store = MemoryStore(clock=self.clock)
        self.xcoms = XComs(self.store, load_serializer(None), 1 << 20)
        self._runs: dict[AttemptKey, tuple[str, dict[str, Any], float | None]] = {}
        self.executor = InProcessExecutor(self._run_attempt)

    def _queue(
        self, key: AttemptKey, body: str, kwargs: dict[str, Any], timeout_s: float | None
    ) -> None:
        self._runs[key] = (body, kwargs, timeout_s)
        self.executor.queue(key)

    def _run_attempt(self, key: AttemptKey) -> AttemptOutcome:
        """What ``dags test`` does for an attempt: store it running, run it, record it."""
        body, kwargs, timeout_s = self._runs[key]
        with DAG(key.dag_id, start_date=T0) as dag:
            PythonOperator(
                task_id=key.task_id,
                python_callable=executor_attempts.BODIES[body],
                op_kwargs=kwargs,
                execution_timeout=None if timeout_s is None else timedelta(seconds=timeout_s),
            )
        run = DagRun(key.dag_id, key.run_id, T0, T0, T0, state=DagRunState.RUNNING)
        ti = TaskInstance(
            key.dag_id,
            key.run_id,
            key.task_id,
            key.map_index,
            state=TaskInstanceState.RUNNING,
            try_number=key.try_number,
            max_tries=key.try_number,
        )
        if self.store.get_dag_run(key.dag_id, key.run_id) is None:
            self.store.create_dag_run(run, [ti])
        else:
            self.store.save_task_instances([ti])
        log_path = attempt_log_path(self.folder / "logs", key.ti_key, key.try_number)
        request = AttemptRequest(dag, run, ti, self.store, self.xcoms, log_path)
        # It claims the attempt (its row) before it runs it, as a worker does.
        return run_and_record(
            request, key, self.clock.now, hostname=socket.gethostname(), pid=os.getpid()
        )

    def while_running(self, ready: Path, action: Callable[[], None]) -> None:
        # poll() holds this thread while the attempt runs: act from another one.
        helper = _Helper(ready, action)
        helper.start()
        self._helpers.append(helper)

    def pass_timeout(self, ready: Path) -> None:
        pass  # the runtime's alarm rings inside poll(), timeout_s after the attempt began

    def timeout_error(self) -> str:
        return (
            f"TaskTimeoutError: task timed out after {self.timeout_s:g} seconds (execution_timeout)"
        )


class LocalUnderTest(ExecutorUnderTest):
    """:class:`LocalExecutor` over real worker processes running the bodies."""

    name = "local"
    stops_running_attempts = True
    timeout_s = 30.0
    KILL_GRACE_S = 1.0

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.clock = FakeClock(T0)
        self._dispatches: dict[AttemptKey, Dispatch] = {}
        self._leftovers: list[int] = []
        self.executor = LocalExecutor(
            parallelism=2,
            worker_function=WORKER_FUNCTION,
            prepare=self._prepare,
            kill_grace_s=self.KILL_GRACE_S,
            clock=self.clock,
        )
        self.executor.start()

    def _prepare(self, key: AttemptKey, worker: WorkerInfo) -> Dispatch:
        return self._dispatches[key]

    def _queue(
        self, key: AttemptKey, body: str, kwargs: dict[str, Any], timeout_s: float | None
    ) -> None:
        self._dispatches[key] = Dispatch([body, kwargs], timeout_s)
        self.executor.queue(key)

    def _pump(self) -> None:
        # A worker started for a queued key gets it once the executor reads that it is ready.
        self.executor.heartbeat()

    def while_running(self, ready: Path, action: Callable[[], None]) -> None:
        wait_until(ready.exists, f"{ready} to be written", self._pump)
        action()

    def pass_timeout(self, ready: Path) -> None:
        wait_until(ready.exists, f"{ready} to be written", self._pump)
        self.clock.advance(timedelta(seconds=self.timeout_s + self.KILL_GRACE_S + 1))

    def timeout_error(self) -> str:
        return f"timed out after {self.timeout_s:g} s (execution_timeout); worker killed"

    def worker_pid(self, key: AttemptKey) -> int:
        info = self.executor.running()[key]
        assert isinstance(info, WorkerInfo)
        return info.pid

    def leave_running_worker(self, key: AttemptKey, ready: Path, release: Path) -> int:
        script = f"""
from headwater.engine.records import AttemptKey
from headwater.executors.local import Dispatch, LocalExecutor

payload = ["hold", {{"ready": {str(ready)!r}, "release": {str(release)!r}}}]
executor = LocalExecutor(
    parallelism=1, worker_function={WORKER_FUNCTION!r}, prepare=lambda k, w: Dispatch(payload)
)
executor.start()
executor.queue(AttemptKey(*{tuple(key)!r}))
executor.poll(timeout=120)
"""
        env = {**os.environ, "PYTHONPATH": os.path.dirname(executor_attempts.__file__)}
        with subprocess.Popen([sys.executable, "-c", script], env=env) as other:
            try:
                wait_until(ready.exists, "the other executor's worker to start the attempt")
            finally:
                other.send_signal(signal.SIGKILL)
        pid = int(ready.read_text())
        self._leftovers.append(pid)
        return pid

    def close(self) -> None:
        super().close()
        for pid in self._leftovers:  # a test that failed half way leaves none behind
            if is_worker(pid):
                os.kill(pid, signal.SIGKILL)


SUBJECTS: dict[str, type[ExecutorUnderTest]] = {
    "in_process": InProcessUnderTest,
    "local": LocalUnderTest,
}
