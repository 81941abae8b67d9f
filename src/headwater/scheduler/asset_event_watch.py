"""Asset events recorded from outside the scheduler (``headwater assets create-event``, the
REST API), noticed between full passes.

A task's event wakes the scheduler at once: it applies the attempt's outcome itself. An event
from another process queues the DAGs scheduled on its asset in the database, but nothing
tells the scheduler; without this watch its DAGs would wait for the next full pass
(``scheduler.loop_interval_s``). The scheduler asks :meth:`AssetEventWatch.new_since_mark`
whenever it looks for runs queued from elsewhere (every ``new_run_check_interval_s``), and
marks the newest event id at the start of each full pass.

One indexed read each time (the newest event by id). On PostgreSQL, an event whose id is
below one already seen but which commits later (ids are handed out before commit) is
noticed by the next full pass instead.
"""

from __future__ import annotations

from headwater.store.assets import AssetStore

__all__ = ["AssetEventWatch"]


class AssetEventWatch:
    """Whether an asset event was recorded since the last :meth:`mark`."""

    def __init__(self, store: object) -> None:
        self._assets = store if isinstance(store, AssetStore) else None
        self._seen = 0

    def _newest(self) -> int:
        if self._assets is None:
            return 0
        newest = self._assets.list_asset_events(newest_first=True, limit=1)
        return newest[0].id if newest else 0

    def mark(self) -> None:
        """Remember the newest event: a full pass is about to consume what is queued."""
        self._seen = self._newest()

    def new_since_mark(self) -> bool:
        """Whether an event newer than the last mark was recorded."""
        return self._newest() > self._seen
