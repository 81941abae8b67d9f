"""Asset events created from outside a task (people through the CLI and REST API, the
triggerer's asset watchers): recorded, queued for the DAGs scheduled on the asset, and logged
in the event log with who created them, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.store.assets import AssetEventRow
    from headwater.store.ports import Store

ASSET_EVENT = "asset_event"
"""The event log's kind for an asset event created from outside a task."""


def create_asset_event(
    store: Store,
    uri: str,
    *,
    timestamp: datetime,
    extra: dict[str, Any] | None,
    created_by: str | None,
    create: bool = False,
    partition_key: str | None = None,
) -> AssetEventRow:
    """Record an event of asset ``uri`` at ``timestamp`` by ``created_by`` and log it
    (kind ``asset_event``, the URI and partition as its detail). An unknown asset raises
    :class:`~headwater.store.assets.UnknownAssetError` unless ``create``."""
    with store.unit_of_work() as uow:
        row = uow.create_asset_event(
            uri,
            timestamp=timestamp,
            extra=extra,
            created_by=created_by,
            create=create,
            partition_key=partition_key,
        )
        detail = uri if partition_key is None else f"{uri} (partition {partition_key})"
        uow.record_event(ASSET_EVENT, at=timestamp, detail=detail, actor=created_by)
    return row
