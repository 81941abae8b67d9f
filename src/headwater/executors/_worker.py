"""What one :class:`~headwater.executors.local.LocalExecutor` worker process does.

A worker is a long-lived process. It loops: receive a payload over its pipe, call the worker
function (``"module:function"``, imported once) with it, send back the
:class:`~headwater.engine.records.AttemptOutcome`. Whatever the function raises becomes a
FAILED outcome and the worker goes on; only a crash of the process itself (a segfault,
``os._exit``, a signal) loses the attempt, and the executor reports that.

Signals, and why:

* **SIGTERM** raises :class:`WorkerTerminated` in the running task. It is a
  ``BaseException``, so it unwinds the task through its ``finally`` blocks and handlers
  (``BashOperator`` kills its command's process group) instead of being reported as the
  task's own failure; then the worker ends, killed by SIGTERM as its exit status says.
* **SIGINT** is swallowed: Ctrl-C in a terminal reaches the whole foreground process group,
  and it is the scheduler that decides how to stop (it terminates busy workers). A Python
  handler, not ``SIG_IGN``, so commands that tasks start still get the default.
* **No parent-death signal**: a worker whose scheduler dies (``kill -9``, a crash) finishes
  the attempt it runs, records its outcome in the database (before it reports anything:
  :mod:`headwater.runtime.recorded_attempt`) and exits, as its pipe is gone; an idle worker
  exits at once. Killing it instead would lose an attempt whose code may have finished, and
  run it a second time. A scheduler that starts meanwhile adopts it
  (:mod:`headwater.executors.adopted_workers`), so the attempt never runs twice at once.
  Under the fork server the parent is the server, so the worker closes its copy of the
  server's "alive" pipe: the server then exits as soon as the scheduler does. The worker
  also checks, when it starts, that the scheduler is still there, and before each attempt
  that its parent did not change (an orphan takes no work).
* The worker names itself ``headwater-wrk`` (``PR_SET_NAME``, what ``/proc/<pid>/comm``
  shows): how a scheduler that starts again recognises a worker an earlier scheduler left
  running (:func:`is_worker`) and never adopts an unrelated process that reused its pid.

Start-up: the worker loads the worker function, then says :class:`Ready`; an exception
before that is sent as :class:`StartFailed` (with its reason, printed nowhere else, so that
the executor reports it once however often it tries again) and the worker exits with code 1.
The worker never imports the program's main script again (the executor hides it while it
starts workers): a launcher script without an ``if __name__ == "__main__":`` guard would
otherwise run again in every worker.

Messages on the pipe are versioned JSON (:func:`encode`, :func:`decode`; never pickle, so
nothing a worker sends can run code in the scheduler, and the same shapes can cross a broker):
the worker says ``Ready`` (or ``StartFailed``) once, then the executor sends :class:`Run`
(its payload a JSON value, for headwater's own worker function an
:class:`~headwater.executors.messages.AttemptMessage`) or :class:`Stop`, and the worker
answers each ``Run`` with one :class:`Result`.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError
from headwater.executors.process_tree import process_exists, set_process_name

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

PROCESS_NAME = "headwater-wrk"
"""The name (``/proc/<pid>/comm``, at most 15 bytes) of every worker process."""


class WorkerTerminated(BaseException):
    """SIGTERM arrived: unwind the task and end the worker.

    Not an ``Exception`` on purpose: a task's ``except Exception`` must not swallow it, and
    the task runtime does not turn it into the task's own failure.
    """


@dataclass(frozen=True)
class WorkerOptions:
    """How the executor configured one worker (sent once, when the worker starts)."""

    worker_id: str
    worker_function: str
    """``"module:function"``; called as ``function(payload) -> AttemptOutcome``."""
    max_tasks: int = 0
    """Exit after this many attempts (0: no limit)."""
    max_memory_mb: int = 0
    """Exit after an attempt that left the process's RSS above this (0: no limit)."""
    scheduler_pid: int = 0
    """The process that owns the executor; the worker exits at once if it is already gone."""
    fork_server: bool = False
    """Started by multiprocessing's fork server, whose "alive" pipe the worker must let go."""


@dataclass(frozen=True)
class Run:
    """Executor -> worker: run one attempt."""

    payload: Any


@dataclass(frozen=True)
class Stop:
    """Executor -> worker: exit now (sent to idle workers only)."""


@dataclass(frozen=True)
class Ready:
    """Worker -> executor: started, the worker function loaded; send attempts."""


@dataclass(frozen=True)
class StartFailed:
    """Worker -> executor: the worker could not start, and why; it exits next."""

    reason: str


@dataclass(frozen=True)
class Result:
    """Worker -> executor: how the attempt ended."""

    outcome: AttemptOutcome
    leaving: str | None = None
    """Why the worker exits right after this result (recycled), or None if it stays."""


PIPE_VERSION = 1
Message = Run | Stop | Ready | StartFailed | Result


def encode(message: Message) -> bytes:
    """One pipe message as JSON bytes (``TypeError``/``ValueError`` if it is not JSON)."""
    data: dict[str, Any]
    if isinstance(message, Run):
        data = {"type": "run", "payload": message.payload}
    elif isinstance(message, Stop):
        data = {"type": "stop"}
    elif isinstance(message, Ready):
        data = {"type": "ready"}
    elif isinstance(message, StartFailed):
        data = {"type": "start_failed", "reason": message.reason}
    else:
        outcome = message.outcome
        data = {
            "type": "result",
            "outcome": outcome.to_json(),
            "rejected": outcome.rejected,  # not part of an outcome's JSON: never stored
            "leaving": message.leaving,
        }
    return json.dumps({"v": PIPE_VERSION, **data}, allow_nan=False).encode()


def decode(data: bytes) -> Message:
    """The message :func:`encode` wrote; ``ValueError`` naming what is wrong otherwise."""
    try:
        parsed = json.loads(data)
        kind = parsed["type"]
        if parsed.get("v") != PIPE_VERSION:
            raise ValueError(f"pipe message version {parsed.get('v')!r}, not {PIPE_VERSION}")
        if kind == "run":
            return Run(parsed["payload"])
        if kind == "stop":
            return Stop()
        if kind == "ready":
            return Ready()
        if kind == "start_failed":
            return StartFailed(str(parsed["reason"]))
        if kind == "result":
            outcome = AttemptOutcome.from_json(parsed["outcome"])
            if parsed.get("rejected") is True:
                outcome = replace(outcome, rejected=True)
            return Result(outcome, parsed.get("leaving"))
    except (KeyError, TypeError, ValueError, HeadwaterError) as exc:
        raise ValueError(f"unreadable pipe message: {exc}") from None
    raise ValueError(f"unreadable pipe message: unknown type {kind!r}")


def load_function(spec: str) -> Callable[[Any], Any]:
    """The callable named by ``"package.module:function"``; a clear error otherwise."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"worker function {spec!r} is not of the form 'module:function'")
    function: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        function = getattr(function, part)
    if not callable(function):
        raise TypeError(f"worker function {spec!r} is not callable")
    return function


def main(conn: Connection, options: WorkerOptions) -> None:
    """The worker process's whole life (a ``multiprocessing.Process`` target)."""
    if options.fork_server:
        _release_fork_server()
    set_process_name(PROCESS_NAME)
    parent = os.getppid()
    if options.scheduler_pid and not process_exists(options.scheduler_pid):
        return  # the scheduler died while this worker started
    signal.signal(signal.SIGTERM, _raise_terminated)
    signal.signal(signal.SIGINT, _ignore)
    try:
        try:
            function = load_function(options.worker_function)
        except (Exception, SystemExit) as exc:  # a module may call sys.exit() when imported
            _send(
                conn, StartFailed(f"cannot load {options.worker_function}: {exception_text(exc)}")
            )
            sys.exit(1)
        if _send(conn, Ready()):
            _serve(conn, options, parent, function)
    except WorkerTerminated:
        # Die of the signal itself, so the exit status tells the executor what happened.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        conn.close()


def _serve(
    conn: Connection, options: WorkerOptions, parent: int, function: Callable[[Any], Any]
) -> None:
    done = 0
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            # The executor closed the pipe, or died (killed with a result of ours unread:
            # ConnectionResetError). Nobody is left to serve: leave without a traceback.
            return
        if os.getppid() != parent:
            return  # orphaned: the parent died without the death signal reaching us
        try:
            message = decode(data)
        except Exception as exc:
            unreadable = Result(
                failed_outcome(f"the worker cannot read the payload: {exception_text(exc)}")
            )
            if not _send(conn, unreadable):
                return
            continue
        if isinstance(message, Stop):
            return
        if not isinstance(message, Run):
            if not _send(
                conn, Result(failed_outcome(f"the worker got {message!r}, not an attempt"))
            ):
                return
            continue
        outcome: AttemptOutcome
        try:
            returned = function(message.payload)
            if isinstance(returned, AttemptOutcome):
                outcome = returned
            else:
                outcome = failed_outcome(
                    f"worker function {options.worker_function} returned "
                    f"{type(returned).__name__}, not an AttemptOutcome"
                )
        except WorkerTerminated:
            raise
        except BaseException as exc:  # a task's sys.exit() or stray KeyboardInterrupt too
            print(
                f"headwater worker {options.worker_id}: {options.worker_function} raised",
                file=sys.stderr,
            )
            traceback.print_exc()
            outcome = failed_outcome(exception_text(exc))
        done += 1
        leaving = _why_leave(options, done)
        if not _send(conn, Result(outcome, leaving)) or leaving is not None:
            return


def _send(conn: Connection, message: Result | Ready | StartFailed) -> bool:
    """Send ``message``; False if the executor is gone (its end of the pipe closed)."""
    try:
        data = encode(message)
    except Exception as exc:
        assert isinstance(message, Result)  # the others hold only strings
        data = encode(
            Result(
                failed_outcome(f"the attempt's outcome cannot be sent back: {exception_text(exc)}"),
                message.leaving,
            )
        )
    try:
        conn.send_bytes(data)
    except OSError:  # BrokenPipeError, ConnectionResetError: nobody to report to
        return False
    return True


def _why_leave(options: WorkerOptions, done: int) -> str | None:
    if options.max_tasks and done >= options.max_tasks:
        return f"ran {done} attempts (max_tasks_per_worker)"
    if options.max_memory_mb:
        rss = rss_mb()
        if rss > options.max_memory_mb:
            return f"uses {rss:.0f} MB (max_worker_memory_mb is {options.max_memory_mb})"
    return None


def rss_mb() -> float:
    """This process's resident memory in MB (Linux: now; elsewhere: the peak)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            resident_pages = int(statm.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def failed_outcome(error: str) -> AttemptOutcome:
    """A FAILED outcome with ``error``."""
    return AttemptOutcome(TaskInstanceState.FAILED, error=error)


def exception_text(exc: BaseException) -> str:
    """``"ValueError: the message"``."""
    return f"{type(exc).__name__}: {exc}"


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise WorkerTerminated("the worker received SIGTERM")


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


def is_worker(pid: int) -> bool:
    """Whether process ``pid`` is alive and is a worker process (by its name, Linux only)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            head, _, rest = stat.read().rpartition(b")")
    except OSError:
        return False
    if rest.split()[:1] in ([b"Z"], [b"X"]):
        return False  # exited, only not reaped yet
    return head.partition(b"(")[2] == PROCESS_NAME.encode()


def _release_fork_server() -> None:
    """Close this worker's copy of the fork server's "alive" pipe.

    The fork server exits when every holder of that pipe's write end has gone, and every
    process it forks inherits one. Without this, running workers would keep the server
    alive after the scheduler died.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if server is None or not isinstance(fd, int):
        return
    try:
        os.close(fd)
    except OSError:
        pass
    # A task that uses the fork server itself then starts a server of its own.
    server._forkserver_alive_fd = None
