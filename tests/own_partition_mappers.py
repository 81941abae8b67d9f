"""A partition mapper of one's own in a module of its own (the scheduler imports it by name),
for tests/unit/test_asset_partitions.py."""

from __future__ import annotations

from headwater.partitions import PartitionMapper


class RegionOfKey(PartitionMapper):
    """``us|2024-03-13`` -> ``us``."""

    def to_downstream(self, key: str) -> str:
        return key.split("|", 1)[0]
