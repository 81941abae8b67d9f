"""The scheduler's daily clean-up of old data (``[retention] older_than_days``), a periodic
duty (:mod:`headwater.scheduler.periodic_duties`).

Its tick is quick: when a clean-up is due and none is under way, it starts one in a thread
of its own (:func:`headwater.scheduler.retention_sweep.sweep`, a short transaction per batch
on the store, which is safe to share between threads) and returns; the thread logs what was
removed, or why it failed. One clean-up at a time, every ``[retention] interval_s``.

When the last one ran survives a restart: it is the time of the newest ``db_clean`` event
the scheduler recorded (actor ``scheduler``), read on the first tick. So a scheduler that
restarts neither cleans on every start nor skips a day; one that never cleaned cleans on its
first tick. A clean-up that fails is tried again an interval later.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.scheduler.retention_sweep import DB_CLEAN_EVENT, sweep

if TYPE_CHECKING:
    from headwater.scheduler.scheduler_state import SchedulerState
    from headwater.settings import Settings
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "scheduler"
"""The actor of the ``db_clean`` events the scheduler records."""

STOP_WAIT_S = 30.0
"""How long :meth:`RetentionDuty.stop` waits for a clean-up under way (it stops between
batches)."""


class RetentionDuty:
    """Starts a clean-up in a thread every ``interval_s``; see the module."""

    name = "retention"

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._older_than = timedelta(days=settings.retention.older_than_days)
        self._interval = timedelta(seconds=settings.retention.interval_s)
        self._next_due: datetime | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def next_due(self) -> datetime | None:
        """When the next clean-up starts (None until the first tick)."""
        return self._next_due

    def tick(self, now: datetime) -> None:
        if self._stopping.is_set() or self.busy:
            return
        if self._next_due is None:
            self._next_due = self._last_clean_up_due(now)
        if now < self._next_due:
            return
        self._next_due = now + self._interval
        self._thread = threading.Thread(
            target=self._clean_up, args=(now,), name="headwater-retention", daemon=True
        )
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a clean-up is under way."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the clean-up under way, if any; True once none is."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return not self.busy

    def stop(self) -> None:
        self._stopping.set()
        if not self.wait(STOP_WAIT_S):
            log.warning("The clean-up of old data did not stop in %.0f s", STOP_WAIT_S)

    def _last_clean_up_due(self, now: datetime) -> datetime:
        events, _ = self._store.page_events(kind=DB_CLEAN_EVENT, actor=SCHEDULER_ACTOR, limit=1)
        if not events:
            return now
        return min(events[0].at + self._interval, now + self._interval)

    def _clean_up(self, now: datetime) -> None:
        try:
            report = sweep(
                self._store,
                self._settings,
                cutoff=now - self._older_than,
                actor=SCHEDULER_ACTOR,
                at=now,
                should_stop=self._stopping.is_set,
            )
        except Exception:
            log.exception(
                "The clean-up of old data failed; it is tried again in %s", self._interval
            )
            return
        log.info(
            "Cleaned up old data: %d run(s) and %d row(s) in all, %d log file(s)",
            report.runs,
            sum(report.rows.values()),
            report.logs.files,
        )


def retention_duties(scheduler: SchedulerState) -> list[RetentionDuty]:
    """The clean-up duty when ``[retention] older_than_days`` is set, else none."""
    if scheduler.settings.retention.older_than_days <= 0:
        return []
    return [RetentionDuty(scheduler.store, scheduler.settings)]
