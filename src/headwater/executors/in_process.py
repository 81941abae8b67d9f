"""The in-process executor: runs each attempt in this process, one at a time."""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from collections.abc import Callable

from headwater.clock import Clock, SystemClock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.executors.base import AttemptStarted, Executor


class InProcessExecutor(Executor):
    """Runs queued attempts, in order, inside :meth:`poll` by calling ``run_attempt(key)``;
    each attempt run is reported by :meth:`started` (this process, when it began) and by
    :meth:`poll` together."""

    def __init__(
        self,
        run_attempt: Callable[[AttemptKey], AttemptOutcome | None],
        clock: Clock | None = None,
    ) -> None:
        self._run_attempt = run_attempt
        self._queue: deque[AttemptKey] = deque()
        self._clock: Clock = clock or SystemClock()
        self._started: list[AttemptStarted] = []
        self._hostname = socket.gethostname()

    def queue(self, key: AttemptKey) -> None:
        self._queue.append(key)

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Run the next queued attempt (``run_attempt`` returning None drops it); with none
        queued, wait ``timeout`` seconds as other executors wait for their workers."""
        while self._queue:
            key = self._queue.popleft()
            at = self._clock.now()
            outcome = self._run_attempt(key)
            if outcome is not None:
                self._started.append(AttemptStarted(key, self._hostname, os.getpid(), at))
                return [(key, outcome)]
        if timeout > 0:
            time.sleep(timeout)
        return []

    def started(self) -> list[AttemptStarted]:
        started, self._started = self._started, []
        return started

    def kill(self, key: AttemptKey) -> None:
        # Attempts run synchronously inside poll(), so only a queued one can be dropped.
        if key in self._queue:
            self._queue.remove(key)

    @property
    def has_work(self) -> bool:
        return bool(self._queue)
