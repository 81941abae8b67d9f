"""``headwater`` commands as real processes, bounded in time, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# kill_session(sid): SIGKILL every process of a command's session (the DAG processor a
# scheduler starts is in a process group of its own: killing the command's group misses it).
from headwater.executors.process_tree import kill_session, run_in_own_session

__all__ = ["alive", "clean_env", "kill_session", "kill_workers", "run_headwater", "wait_for"]


def run_headwater(
    env: dict[str, str], *args: str, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` as a process of its own session; killed with whatever it started if
    still running after ``timeout_s`` (a scheduler that did not refuse to start)."""
    argv = [sys.executable, "-m", "headwater", *args]
    code, out, err = run_in_own_session(argv, env=env, timeout_s=timeout_s, kill_leftovers=True)
    if code is None:
        code, err = -signal.SIGKILL, f"still running after {timeout_s} s"
    return subprocess.CompletedProcess(argv, code, out, err)


def clean_env(home: Path) -> dict[str, str]:
    """This process's environment without headwater's settings, with ``home`` as the home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    return {**env, "HEADWATER_HOME": str(home)}


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    """Poll ``condition`` (real processes, real time) until it holds; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    """Running (a zombie, exited but not reaped by its parent, runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def kill_workers(pids: list[int]) -> None:
    """SIGKILL the worker processes among ``pids`` still alive: a worker outlives a scheduler
    killed with SIGKILL until its attempt ends, so a test that failed midway must not leave
    one behind (only a process named like a worker is killed, never one that reused a pid)."""
    from headwater.executors._worker import is_worker

    for pid in pids:
        if is_worker(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
