"""The asset port: assets, aliases, asset events, and the queue of events each DAG
scheduled on assets has not consumed yet (see ``docs/data-aware.md``)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class AssetStore(ABC):
    """Assets and their events."""

    @abstractmethod
    def count_asset_events(self) -> int:
        """How many asset events are stored."""
