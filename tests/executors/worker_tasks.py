"""Worker functions for the LocalExecutor tests; they run in the worker processes.

``run((action, kwargs))`` does one of the actions below and returns an ``AttemptOutcome``.
Data for the test travels back in ``rendered_fields`` (the worker's pid, for one).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState

_kept: list[bytes] = []
"""What ``hog`` allocates stays here, as a leaking task's module global would."""


def run(payload: tuple[str, dict[str, Any]]) -> Any:
    action, kwargs = payload
    return ACTIONS[action](**kwargs)


def _success(**data: Any) -> AttemptOutcome:
    return AttemptOutcome(TaskInstanceState.SUCCESS, rendered_fields={"pid": os.getpid(), **data})


def noop() -> AttemptOutcome:
    return _success()


def check_marker(path: str, pid: int) -> AttemptOutcome:
    """Succeeds only if prepare() wrote ``path`` first and this is the worker it named."""
    assert Path(path).exists(), f"{path} does not exist"
    assert os.getpid() == pid, f"prepare() named pid {pid}, running in {os.getpid()}"
    return _success()


def fail(message: str) -> AttemptOutcome:
    raise ValueError(message)


def wrong_type() -> Any:
    return 42


def segfault() -> AttemptOutcome:
    ctypes.string_at(0)
    return _success()


def exit_now(code: int) -> AttemptOutcome:
    os._exit(code)


def wait(ready: str, cleanup: str | None = None) -> AttemptOutcome:
    """Sleeps until killed; ``cleanup`` is written if it unwinds (SIGTERM as an exception)."""
    try:
        Path(ready).write_text(str(os.getpid()))
        time.sleep(120)
    finally:
        if cleanup is not None:
            Path(cleanup).write_text("unwound")
    return _success()


def hold(ready: str, release: str) -> AttemptOutcome:
    """Writes ``ready``, then waits (a minute at most) until ``release`` exists."""
    Path(ready).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return _success()


def stubborn(ready: str) -> AttemptOutcome:
    """Ignores SIGTERM and keeps a command running in its own session (as BashOperator does)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(["sleep", "120"], start_new_session=True)
    Path(ready).write_text(str(child.pid))
    time.sleep(120)
    return _success()


def barrier(folder: str, name: str, peer: str) -> AttemptOutcome:
    """Passes only if attempt ``peer`` reaches the same barrier while this one waits there
    (20 s at most): each says it arrived with a file in ``folder``."""
    Path(folder, name).write_text("here")
    deadline = time.monotonic() + 20
    while not Path(folder, peer).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{peer} never reached the barrier")
        time.sleep(0.01)
    return _success()


def hog(mb: int) -> AttemptOutcome:
    _kept.append(b"\x01" * (mb * 2**20))
    return _success()


def swallow_term(ready: str) -> AttemptOutcome:
    """Waits (a minute at most) and ends well when SIGTERM arrives, as a task that catches
    everything would."""
    Path(ready).write_text(str(os.getpid()))
    try:
        time.sleep(60)
    except BaseException:  # the worker's SIGTERM exception: swallowed
        pass
    return _success()


def fail_if_exists(path: str) -> AttemptOutcome:
    """Fails, without claiming anything, once ``path`` exists (a DAG file edited since)."""
    if Path(path).exists():
        raise RuntimeError(f"{path} exists")
    return _success()


def write(path: str, text: str = "ran") -> AttemptOutcome:
    Path(path).write_text(text)
    return _success()


def claimed(claims: str, name: str, then: str = "noop", **kwargs: Any) -> AttemptOutcome:
    """Claims attempt ``name`` before doing ``then``, as headwater's worker function does:
    a file created only if absent in ``claims`` (holding this worker's pid); an attempt
    claimed already is refused (``rejected``) without running."""
    try:
        fd = os.open(os.path.join(claims, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        error = f"attempt {name} was started elsewhere already"
        return AttemptOutcome(
            TaskInstanceState.FAILED,
            error=error,
            rejected=True,
            rendered_fields={"pid": os.getpid()},
        )
    with os.fdopen(fd, "w") as claim:
        claim.write(str(os.getpid()))
    return ACTIONS[then](**kwargs)


ACTIONS = {
    fn.__name__: fn
    for fn in (
        noop,
        check_marker,
        fail,
        wrong_type,
        segfault,
        exit_now,
        wait,
        hold,
        stubborn,
        barrier,
        hog,
        write,
        claimed,
        swallow_term,
        fail_if_exists,
    )
}
