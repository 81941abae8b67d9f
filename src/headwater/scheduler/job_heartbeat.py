"""A ``jobs`` row for a long-running process, and its heartbeat: how ``/api/v1/health``
knows that a DAG processor is alive (the scheduler keeps its own row the same way).

Example::

    job = JobHeartbeat(store, "dag_processor", interval_s=5.0)
    while not stop():
        job.beat()          # writes at most every interval_s
        ...
    job.end()
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.clock import SystemClock
from headwater.db.reconnect import short_reason

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.store.ports import JobStore

log = logging.getLogger(__name__)


class JobHeartbeat:
    """Registers a job of ``kind`` when built; :meth:`beat` refreshes its heartbeat at most
    every ``interval_s``, :meth:`end` marks it ended. A failed write is logged, never raised:
    the process's own work matters more than its heartbeat."""

    def __init__(
        self, store: JobStore, kind: str, *, interval_s: float, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.every = timedelta(seconds=interval_s)
        now = self.clock.now()
        self.job_id = store.start_job(kind, socket.gethostname(), os.getpid(), now)
        self._last: datetime = now

    def beat(self) -> None:
        now = self.clock.now()
        if now - self._last < self.every:
            return
        self._last = now
        try:
            self.store.heartbeat_job(self.job_id, now)
        except Exception as exc:  # a database hiccup: the next beat tries again
            # One line (the driver's reason), not the statement and its parameters.
            log.warning(
                "Could not record the heartbeat of job %s: %s", self.job_id, short_reason(exc)
            )

    def end(self) -> None:
        try:
            self.store.end_job(self.job_id, self.clock.now())
        except Exception as exc:
            log.warning("Could not record the end of job %s: %s", self.job_id, short_reason(exc))
