"""The background sender: task notifications go out after the attempt's outcome is decided,
in one thread of the process, so a slow or hanging backend never holds up the attempt, its
outcome or the next task.

Bounded everywhere: at most :data:`CAPACITY` notifications wait (one more is reported as
failed at once), each takes at most ``longest_send_s`` (tries, timeouts and waits), and when
the process exits (the ``multiprocessing`` exit of a worker, or ``atexit`` of a command
such as ``dags test``) the outbox is flushed for at most :data:`EXIT_FLUSH_LIMIT_S`.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import util as multiprocessing_util
from typing import TYPE_CHECKING

from headwater.notifications.delivery import (
    FailureReporter,
    report_failure,
    send_prepared,
)

if TYPE_CHECKING:
    from headwater.notifications.base import BaseNotifier, Context
    from headwater.settings import NotificationSettings

log = logging.getLogger("headwater.notifications")

CAPACITY = 100
"""Notifications that may wait in one process; past it, new ones fail at once."""

EXIT_FLUSH_LIMIT_S = 60.0
"""The longest a process waits for its notifications when it exits."""


class OutboxFullError(Exception):
    """The outbox holds :data:`CAPACITY` notifications already."""


@dataclass(frozen=True)
class _Job:
    prepared: BaseNotifier
    context: Context
    settings: NotificationSettings
    reporters: tuple[FailureReporter, ...]


class Outbox:
    """One sender thread and a bounded queue (started on the first notification)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.wait: Callable[[float], None] = time.sleep
        """How the sender waits between tries (tests use a zero delay instead)."""

    def submit(
        self,
        prepared: BaseNotifier,
        context: Context,
        settings: NotificationSettings,
        reporters: tuple[FailureReporter, ...],
    ) -> bool:
        """Queue a prepared notification; False (reported as failed) when the outbox is full."""
        self._start()
        try:
            self._queue.put_nowait(_Job(prepared, context, settings, reporters))
        except queue.Full:
            report_failure(
                prepared,
                OutboxFullError(f"{self._queue.maxsize} notifications are waiting already"),
                0,
                context,
                reporters,
            )
            return False
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued notification went out or failed, at most ``timeout_s``;
        whether they all did."""
        deadline = time.monotonic() + timeout_s
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="headwater-notifications", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                send_prepared(
                    job.prepared, job.context, job.settings, job.reporters, wait=self.wait
                )
            except BaseException:  # send_prepared reports; this guards the thread itself
                log.exception("The notification sender failed")
            finally:
                self._queue.task_done()


_outboxes: dict[int, Outbox] = {}
_outboxes_lock = threading.Lock()


def outbox() -> Outbox:
    """This process's outbox (a forked worker gets its own: threads do not cross a fork)."""
    pid = os.getpid()
    with _outboxes_lock:
        box = _outboxes.get(pid)
        if box is None:
            box = _outboxes[pid] = Outbox()
            atexit.register(_flush_at_exit, box)
            # A multiprocessing worker ends with os._exit after its exit function, which runs
            # these finalizers (atexit handlers do not run there).
            multiprocessing_util.Finalize(None, _flush_at_exit, args=(box,), exitpriority=100)
    return box


def _flush_at_exit(box: Outbox) -> None:
    if box.pending() and not box.flush(EXIT_FLUSH_LIMIT_S):
        log.error(
            "%d notification(s) still unsent after %g s at exit: dropped",
            box.pending(),
            EXIT_FLUSH_LIMIT_S,
        )


def send_in_background(
    prepared: BaseNotifier,
    context: Context,
    settings: NotificationSettings,
    reporters: tuple[FailureReporter, ...],
) -> bool:
    """Hand a prepared notification to this process's sender thread."""
    return outbox().submit(prepared, context, settings, reporters)


def flush_notifications(timeout_s: float = EXIT_FLUSH_LIMIT_S) -> bool:
    """Wait (at most ``timeout_s``) for this process's background notifications; whether
    they all went out or failed. Useful in tests and scripts that call ``dag.test()``."""
    return outbox().flush(timeout_s)
