"""Standbys: the next attempt waiting in a busy worker's pipe, so that the worker starts it
the moment its current one ends, without waiting for the scheduler.

Without them a worker that ends an attempt sends its result and waits for the scheduler to
read it and send the next one; the scheduler may be writing a transaction or off the CPU
meanwhile (on two CPUs, a third of a worker's time went to that wait). The
:class:`~headwater.executors.local.LocalExecutor` sends them (``standby=True``) only with
keys left in its queue once every idle worker has one and the workers that are starting
have theirs, one per busy worker, at most :data:`STANDBY_MAX_BYTES` each (or what the pipe
holds, if less). What the executor does with a worker's standby:

* the worker reports its attempt: it has read its standby and started it, so the standby
  becomes its current attempt (reported started, its timeout counted from now);
* the worker reports and leaves (recycled): it exits without reading its standby, which
  goes back to the front of the queue;
* a worker goes idle with nothing queued: it **takes over** a standby waiting behind
  another worker's attempt (which may run for hours). The standby is then in two pipes;
  the worker function claims an attempt before running it (headwater's does:
  :mod:`headwater.runtime.recorded_attempt`), so only one of the two runs it, and the other
  reports it ``rejected`` (the scheduler ignores that report); a report of the first
  worker's copy that it did not record (it failed before its claim: a DAG file edited
  since) is made ``rejected`` too, as it is not the attempt's. This is why the executor
  sends standbys only when told its worker function claims. It reports the attempt started
  on the worker that took it over; in the rare race where the first worker ended its
  attempt at that moment and claimed the standby first, the instance names the other
  worker's pid while the attempt's row (which adoption after a restart reads) names the
  right one. A standby that was killed, or whose worker is being stopped, is not taken
  over;
* ``kill`` of a standby: it cannot be taken out of the pipe, so its worker is terminated
  if it starts it (reported FAILED "killed ...", as a running attempt's kill is);
* the worker dies or is terminated: a standby it never read goes back to the queue; one
  it may have read (it reported its attempt after it was told to end, and was not
  leaving) is reported started, then lost: the scheduler applies the outcome its claim
  recorded, or runs it again without counting a retry;
* :meth:`~headwater.executors.local.LocalExecutor.stop` reads what the stopped workers
  sent last: a standby a worker went on to is reported started, so the scheduler puts it
  back as stopped (or applies what it recorded).
"""

from __future__ import annotations

import functools
import socket
from collections import deque
from collections.abc import Callable

from headwater.engine.records import AttemptKey
from headwater.executors.local_workers import Standby, WorkerHandle, send_to

__all__ = [
    "STANDBY_MAX_BYTES",
    "fits",
    "hold",
    "kill",
    "left_behind",
    "promote",
    "requeue",
    "take_over",
]

STANDBY_MAX_BYTES = 32 * 1024
"""The largest message sent to a busy worker: it waits in the pipe's buffer until the worker
reads it, and one that does not fit would block the executor until then. Less where the
pipes' buffers are small (half of a socket pair's send buffer: Linux gives about 200 KiB,
macOS 8 KiB)."""

StartOn = Callable[[WorkerHandle, AttemptKey, float | None, bytes | None, bool], None]
"""``LocalExecutor._start_on``: the worker runs the key now (sending it the bytes, if any;
reporting it started if the last argument is true)."""


def fits(data: bytes) -> bool:
    """Whether a message of ``data`` may wait in a busy worker's pipe."""
    return len(data) <= _largest()


@functools.cache
def _largest() -> int:
    # The executor's pipes to its workers are socket pairs (multiprocessing.Pipe).
    ours, theirs = socket.socketpair()
    try:
        buffer = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    finally:
        ours.close()
        theirs.close()
    return min(STANDBY_MAX_BYTES, buffer // 2)


def hold(worker: WorkerHandle, key: AttemptKey, data: bytes, timeout_s: float | None) -> None:
    """Send ``worker`` (busy) the attempt ``key`` to start after its current one."""
    worker.standby = Standby(key, data, timeout_s)
    send_to(worker, data)


def promote(worker: WorkerHandle, start_on: StartOn) -> bool:
    """``worker`` reported its attempt and stays: its standby, if any, is its attempt now.
    True if that standby was killed while it waited (the caller terminates the worker)."""
    standby, worker.standby = worker.standby, None
    if standby is None:
        return False
    # A standby taken over was reported started with the worker that took it.
    announce = not standby.taken_over and not standby.killed
    start_on(worker, standby.key, standby.timeout_s, None, announce)
    worker.runs_a_copy = standby.taken_over
    return standby.killed


def left_behind(worker: WorkerHandle) -> Standby | None:
    """The standby of ``worker``, which ends: forgotten here, returned if the executor
    still answers for it (not taken over by another worker, not killed)."""
    standby, worker.standby = worker.standby, None
    if standby is None or standby.taken_over or standby.killed:
        return None
    return standby


def take_over(workers: list[WorkerHandle], start_on: StartOn) -> None:
    """Each idle worker takes over a standby waiting behind another worker's attempt."""
    standbys = [w.standby for w in workers if w.standby is not None and _may_take_over(w)]
    for worker, standby in zip((w for w in workers if w.idle), standbys, strict=False):
        standby.taken_over = True
        start_on(worker, standby.key, standby.timeout_s, standby.data, True)


def _may_take_over(worker: WorkerHandle) -> bool:
    """Whether ``worker`` holds a standby another worker may take over: not one killed, nor
    one of a worker being stopped (which may have started it: it is its to report)."""
    standby = worker.standby
    return (
        standby is not None
        and not standby.taken_over
        and not standby.killed
        and worker.ending is None
    )


def kill(workers: list[WorkerHandle], key: AttemptKey) -> None:
    """Mark ``key`` killed wherever it waits as a standby."""
    for worker in workers:
        if worker.standby is not None and worker.standby.key == key:
            worker.standby.killed = True


def requeue(queue: deque[AttemptKey], standby: Standby | None) -> None:
    if standby is not None:
        queue.appendleft(standby.key)
