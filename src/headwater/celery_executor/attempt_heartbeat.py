"""A Celery worker's heartbeats of the attempts it runs: one thread per worker process writes
the ``heartbeat_at`` of the attempts running in it every ``[scheduler] heartbeat_interval_s``.

The scheduler cannot see a Celery worker's processes (another machine, perhaps), so this is
how it tells a live attempt from one whose worker was killed: a running attempt whose
heartbeat is older than ``[scheduler] task_heartbeat_timeout_s`` is failed as lost
(``Recovery._fail_silent_attempts``) and retried per its ``retries``. A heartbeat that cannot
be written (the database restarting) is logged and tried again at the next beat.

The thread starts with the process's first attempt and lives as long as the process: an
attempt only adds its key to the set the thread beats for, and takes it out when it ends
(no thread started and joined per attempt: that cost a no-op task a tenth of its time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from headwater.db.reconnect import is_connection_lost, short_reason
from headwater.engine.records import AttemptKey

log = logging.getLogger(__name__)


@runtime_checkable
class AttemptLiveness(Protocol):
    """A store that keeps attempts' heartbeats (the SQL store)."""

    def heartbeat_attempts(
        self, keys: Iterable[tuple[str, str, str, int, int]], now: datetime
    ) -> None: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AttemptBeats:
    """The heartbeats of the attempts running in this process: ``with beats.running(key):``
    runs an attempt while a thread of its own (started at the first) beats for it."""

    def __init__(
        self,
        store: AttemptLiveness,
        interval_s: float,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._interval_s = interval_s
        self._now = now
        self._keys: set[AttemptKey] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def running(self, key: AttemptKey) -> Iterator[None]:
        with self._lock:
            self._keys.add(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="headwater-attempt-heartbeats", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(key)

    def beat(self) -> list[AttemptKey]:
        """Write the heartbeat of every attempt running now; the keys written."""
        with self._lock:
            keys = sorted(self._keys)
        if keys:
            try:
                self._store.heartbeat_attempts(keys, self._now())
            except Exception as exc:  # the database restarting: beat again next time
                # A lost connection is one line (its driver's reason), as in db.reconnect:
                # SQLAlchemy's message adds the statement and every parameter.
                reason = short_reason(exc) if is_connection_lost(exc) else exc
                log.warning("Could not write the heartbeat of %d attempt(s): %s", len(keys), reason)
        return keys

    def _loop(self) -> None:
        stop = threading.Event()  # never set: the thread ends with its (daemon) process
        while not stop.wait(self._interval_s):
            self.beat()


_beats: AttemptBeats | None = None


def process_beats(store: AttemptLiveness, interval_s: float) -> AttemptBeats:
    """This process's :class:`AttemptBeats` (made at the first call)."""
    global _beats
    if _beats is None:
        _beats = AttemptBeats(store, interval_s)
    return _beats


def _forget_in_child() -> None:
    """A forked child has none of its parent's threads: it beats on its own."""
    global _beats
    _beats = None


os.register_at_fork(after_in_child=_forget_in_child)
