"""A Celery worker's heartbeat of the attempt it runs: a thread that writes the attempt row's
``heartbeat_at`` every ``[scheduler] heartbeat_interval_s`` while the attempt runs.

The scheduler cannot see a Celery worker's processes (another machine, perhaps), so this is
how it tells a live attempt from one whose worker was killed: a running attempt whose
heartbeat is older than ``[scheduler] task_heartbeat_timeout_s`` is failed as lost
(``Recovery._fail_silent_attempts``) and retried per its ``retries``. A heartbeat that cannot
be written (the database restarting) is logged and tried again at the next beat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, runtime_checkable

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


class AttemptHeartbeat:
    """``with AttemptHeartbeat(store, key, interval_s): run()`` beats for ``key`` meanwhile."""

    def __init__(
        self,
        store: AttemptLiveness,
        key: AttemptKey,
        interval_s: float,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._key = key
        self._interval_s = interval_s
        self._now = now
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat {key.task_id} try {key.try_number}", daemon=True
        )

    def __enter__(self) -> AttemptHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=max(self._interval_s, 5.0))

    def _beat(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._store.heartbeat_attempts([self._key], self._now())
            except Exception as exc:  # the database restarting: beat again next time
                log.warning("Could not write the heartbeat of %s: %s", self._key.task_id, exc)
