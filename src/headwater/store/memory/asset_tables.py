"""What a memory store holds for assets (the tables of migration 0008, as dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater.store.assets import AssetEventRow, AssetReference, AssetRow


@dataclass
class AssetTables:
    """Assets, aliases, events, DAG references, queues and the events runs consumed."""

    assets: dict[int, AssetRow] = field(default_factory=dict)
    ids_by_uri: dict[str, int] = field(default_factory=dict)
    alias_assets: dict[str, set[int]] = field(default_factory=dict)
    events: dict[int, AssetEventRow] = field(default_factory=dict)
    references: dict[str, list[AssetReference]] = field(default_factory=dict)
    """By DAG."""
    queue: dict[tuple[str, int], None] = field(default_factory=dict)
    """(dag_id, event_id) of events not consumed yet, in the order they were queued."""
    run_events: dict[tuple[str, str], list[int]] = field(default_factory=dict)
