"""Processes on this machine: who descends from whom, when one started, how one ended, and
killing a process's whole tree. Linux reads ``/proc``; elsewhere the functions that need it
find nothing and do nothing.

Used by the local executor (dead and stuck workers, leftovers of an earlier scheduler) and by
the long-running commands, which make sure that nothing they started outlives them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager

__all__ = [
    "descendants",
    "exit_text",
    "kill_child_groups",
    "kill_descendants",
    "kill_session",
    "main_script_hidden",
    "process_exists",
    "process_start",
    "run_in_own_session",
    "set_parent_death_signal",
    "set_process_name",
]

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the name (state, ppid, pgrp, ...)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            return stat.read().rpartition(b")")[2].split()
    except OSError:
        return None


def _children_by_parent() -> dict[int, list[tuple[int, int]]]:
    """Every process's (pid, process group), by parent pid."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {}
    found: dict[int, list[tuple[int, int]]] = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        try:
            ppid, pgrp = int(fields[1]), int(fields[2])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            continue
        found.setdefault(ppid, []).append((int(entry), pgrp))
    return found


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (perhaps another user's, or a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), parents first."""
    children = _children_by_parent()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child, _ in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def kill_child_groups(pid: int) -> None:
    """SIGKILL the direct children of ``pid``, and the process groups those children lead.

    A task's commands (``BashOperator`` starts each in its own session) would outlive a
    worker killed with SIGKILL.
    """
    for child, pgrp in _children_by_parent().get(pid, []):
        _kill(child, group=pgrp == child)


def kill_descendants(pid: int, *, spare: Collection[int] = ()) -> int:
    """SIGKILL every process below ``pid``, and the process groups they lead; how many.
    The processes in ``spare`` are left alone, and so are the processes below them.

    The last line of defence of a command that stops: whatever it started and did not stop
    (a DAG file's import, a worker, a task's command in its own session) ends with it.
    Children are found before anything is killed, so orphans do not escape the search.
    """
    children = _children_by_parent()
    victims: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child, pgrp in children.get(todo.pop(0), []):
            if child not in spare:
                victims.append((child, pgrp))
                todo.append(child)
    for child, pgrp in victims:
        _kill(child, group=pgrp == child)
    return len(victims)


def kill_session(sid: int) -> int:
    """SIGKILL every process of session ``sid`` (a command started with
    ``start_new_session=True``, and whatever it started that stayed in its session, even in a
    process group of its own); how many. For a supervisor ending a command past its time."""
    killed = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


_KILL_GRACE_S = 1.0
"""How long :func:`run_in_own_session` reads a killed command's pipes before it gives up."""


def run_in_own_session(
    argv: list[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kill_leftovers: bool = False,
) -> tuple[int | None, str, str]:
    """Run ``argv`` in a session of its own: ``(exit code, stdout, stderr)``, the exit code
    None when it ran past ``timeout_s`` and was killed with everything of its session.
    ``kill_leftovers``: also kill what it left running in its session when it ended."""
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=None if env is None else dict(env),
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=max(timeout_s, 0.01))
    except subprocess.TimeoutExpired:
        kill_session(process.pid)
        try:
            process.communicate(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            # Something it started left the session and holds the pipes: stop reading.
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
            process.wait()
        return None, "", ""
    if kill_leftovers:
        kill_session(process.pid)
    return process.returncode, _text(out), _text(err)


def _text(data: bytes) -> str:
    return data.decode(errors="replace")


def _kill(pid: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def set_parent_death_signal(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent (strictly: the thread
    of the parent that started it) dies; Linux only, elsewhere nothing happens."""
    _prctl(_PR_SET_PDEATHSIG, signum)


def end_group_with_parent(parent_pid: int) -> None:
    """End this process group (this process and whatever it started) when the parent dies,
    even of SIGKILL, instead of running on, orphaned: a child that imports DAG files.

    The parent-death signal is SIGTERM, not SIGKILL as for workers: SIGKILL would end this
    process but leave its own children running. Its handler kills the whole group. (Code
    stuck in C that never returns to Python would outlive the parent.)
    """
    signal.signal(signal.SIGTERM, _kill_own_group)
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        _kill_own_group(signal.SIGTERM, None)


def _kill_own_group(signum: int, frame: object) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def set_process_name(name: str) -> None:
    """Set this process's name as ``ps`` and ``/proc/<pid>/comm`` show it (at most 15
    bytes; Linux only)."""
    import ctypes

    _prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]))


def _prctl(option: int, arg: object) -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch, or None."""
    fields = _stat_fields(pid)
    try:
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
        ticks = int(fields[19])  # type: ignore[index]  # field 22 of stat: start, in ticks
    except (OSError, ValueError, IndexError, TypeError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def exit_text(code: int | None) -> str:
    """How a process ended, from its exit code (negative: the signal that killed it)."""
    if code is None:
        return "vanished"
    if code < 0:
        try:
            return f"died with signal {signal.Signals(-code).name}"
        except ValueError:
            return f"died with signal {-code}"
    return f"exited with code {code}"


@contextmanager
def main_script_hidden() -> Iterator[None]:
    """Start ``multiprocessing`` children within this block: they will not import the
    program's main script again.

    ``multiprocessing`` (spawn and fork server alike) has every child import the parent's
    ``__main__`` file again, as ``__mp_main__``, so that objects defined there can be
    unpickled. A launcher script without an ``if __name__ == "__main__":`` guard then runs
    again in each child: it printed its banner and started a second scheduler from every
    worker. Workers need nothing from the main script (their function is named
    ``"module:function"``), so it is replaced by an empty module while they start. Only the
    thread that starts processes may run here (the executor's one thread).
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
