"""The long-running commands as real processes, and every process they start.

A :class:`ProcessTree` starts ``headwater`` commands (or launcher scripts) in sessions of
their own, with a marker in their environment: every process they start inherits it,
whatever session or process group it moves to (a DAG file's import, a worker, a task's
command), so the tree is found by scanning ``/proc``, and whatever is left is killed when
the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

MARKER_VARIABLE = "HWTEST_PROCESS_TREE"


class ProcessTree:
    """``headwater`` processes of one test over one database and DAG folder."""

    def __init__(self, tmp_path: Path, db_url: str, folder: Path, **settings: str) -> None:
        self.marker = f"{MARKER_VARIABLE}={uuid.uuid4().hex}".encode()
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
        self.env.update(
            {
                MARKER_VARIABLE: self.marker.decode().partition("=")[2],
                "HEADWATER_HOME": str(tmp_path / "home"),
                "HEADWATER_DAGS_FOLDER": str(folder),
                "HEADWATER_DATABASE_URL": db_url,
                "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
                "HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S": "0.2",
                "HEADWATER__SCHEDULER__DAG_DIR_LIST_INTERVAL_S": "0.5",
                "HEADWATER__SCHEDULER__KILL_GRACE_S": "1",
            }
        )
        self.env.update({f"HEADWATER__SCHEDULER__{k.upper()}": v for k, v in settings.items()})
        self.outputs: dict[int, Path] = {}
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *arguments: str, script: Path | None = None) -> subprocess.Popen[bytes]:
        """``headwater ARGUMENTS`` (or ``python SCRIPT``), its output kept in a file."""
        command = [sys.executable, str(script)] if script else [sys.executable, "-m", "headwater"]
        output = self.tmp_path / f"output-{len(self.outputs)}.txt"
        with open(output, "wb") as sink:
            process = subprocess.Popen(
                [*command, *arguments],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.outputs[process.pid] = output
        self.started.append(process)
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        return self.outputs[process.pid].read_text(errors="replace")

    def pids(self) -> list[int]:
        """The live processes that carry this tree's marker."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if self.marker in environ.split(b"\0") and alive(int(entry)):
                found.append(int(entry))
        return found

    def described(self) -> list[str]:
        """The live processes of the tree, as ``pid name: command`` (for messages)."""
        return [f"{pid} {name(pid)}: {command_line(pid)[:100]}" for pid in self.pids()]

    def workers(self) -> list[int]:
        return [pid for pid in self.pids() if name(pid) == "headwater-wrk"]

    def fork_servers(self) -> list[int]:
        return [pid for pid in self.pids() if "multiprocessing.forkserver" in command_line(pid)]

    def resource_trackers(self) -> list[int]:
        return [
            pid for pid in self.pids() if "multiprocessing.resource_tracker" in command_line(pid)
        ]

    def kill_all(self) -> None:
        """SIGKILL whatever is left of the tree (the tests' own clean-up)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait()
        for _ in range(5):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)


def alive(pid: int) -> bool:
    """Running (a zombie, exited but not reaped by its parent, runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def ended_within(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True
