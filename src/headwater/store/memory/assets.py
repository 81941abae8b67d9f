"""The asset port in memory."""

from __future__ import annotations

from datetime import datetime

from headwater.engine.records import AttemptKey, OutletEvent
from headwater.store.memory.core import MemoryCore


class MemoryAssets(MemoryCore):
    """Assets, aliases, events and the queue of DAGs scheduled on them, in memory."""

    def _record_outlet_events(
        self, key: AttemptKey, events: list[OutletEvent], now: datetime
    ) -> None:
        raise NotImplementedError("asset events: issue 13, part 1")

    def count_asset_events(self) -> int:
        return 0
