"""``headwater`` commands as real processes, bounded in time, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def run_headwater(
    env: dict[str, str], *args: str, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` as a process of its own session; killed with whatever it started if
    still running after ``timeout_s`` (a scheduler that did not refuse to start)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        out, err = "", f"still running after {timeout_s} s"
    finally:
        kill_session(process.pid)
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid``: the DAG processor a scheduler starts is in
    a process group of its own, so killing the command's group would miss it."""
    from headwater.executors.process_tree import kill_session as kill_all_of

    kill_all_of(sid)


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
