"""The asset port on SQL: assets, aliases, events and the queue of DAGs scheduled on them
(the tables of :mod:`headwater.db.data_aware_models`, migration 0008)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection as SAConnection

from headwater.db.data_aware_models import AssetEventModel
from headwater.engine.records import AttemptKey, OutletEvent
from headwater.store.sql.core import SqlCore

ASSET_EVENTS = cast(Table, AssetEventModel.__table__)


def record_outlet_events(
    conn: SAConnection, key: AttemptKey, events: list[OutletEvent], now: datetime
) -> None:
    """Record the asset events of attempt ``key``, which succeeded, and queue them for the
    DAGs scheduled on their assets (inside the transaction that records its outcome)."""
    raise NotImplementedError("asset events: issue 13, part 1")


class SqlAssets(SqlCore):
    """Assets and their events on SQL."""

    def count_asset_events(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(ASSET_EVENTS)).scalar_one())
