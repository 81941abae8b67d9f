"""DAG-level callbacks of ended runs (and of missed deadlines: :mod:`deadline_checks`), each
in a child process that imports the DAG file.

Started without waiting (the scheduler's loop goes on); finished children are reaped at
heartbeats, and one still running after ``TIME_LIMIT_S`` is killed.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

log = logging.getLogger(__name__)

TIME_LIMIT_S = 300.0


class DagCallbackProcesses:
    def __init__(self) -> None:
        self._children: list[tuple[subprocess.Popen[bytes], float, str]] = []

    def start(self, fileloc: str, dag_id: str, run_id: str) -> None:
        self.start_module(
            "headwater.runtime.dag_callback_main",
            [fileloc, dag_id, run_id],
            f"{dag_id} run {run_id}",
        )

    def start_module(self, module: str, args: list[str], what: str) -> None:
        """Start ``python -m module *args`` (a callback entry point), told as ``what``."""
        child = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._children.append((child, time.monotonic(), what))

    def reap(self) -> None:
        still = []
        for child, started, what in self._children:
            code = child.poll()
            if code is None and time.monotonic() - started > TIME_LIMIT_S:
                log.warning("The DAG callback of %s ran over %g s: stopped", what, TIME_LIMIT_S)
                child.kill()
                child.wait()
            elif code is None:
                still.append((child, started, what))
            elif code != 0:
                log.warning("The DAG callback of %s failed (exit code %d)", what, code)
        self._children = still

    def stop(self, timeout_s: float = 10.0) -> None:
        """Let running callbacks finish (up to ``timeout_s``), then stop them."""
        deadline = time.monotonic() + timeout_s
        for child, _, _ in self._children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children = []
