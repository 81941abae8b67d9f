"""DAGs scheduled on an asset by its name (``Asset.ref(name=...)``) on SQL: the references
(``dag_asset_name_references``), queueing an asset's events for the DAGs that name it, and
listing the references as ``schedule`` ones of the asset bearing the name."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, exists, insert, literal, select
from sqlalchemy.engine import Connection as SAConnection

from headwater.db.data_aware_models import (
    AssetDagRunQueueModel,
    AssetEventModel,
    AssetModel,
    DagAssetNameReferenceModel,
)
from headwater.store.assets import SCHEDULE, AssetReference

NAME_REFERENCES = cast(Table, DagAssetNameReferenceModel.__table__)
_ASSETS = cast(Table, AssetModel.__table__)
_EVENTS = cast(Table, AssetEventModel.__table__)
_QUEUE = cast(Table, AssetDagRunQueueModel.__table__)


def set_name_references(conn: SAConnection, dag_id: str, names: set[str]) -> bool:
    """Make ``names`` the asset names DAG ``dag_id`` is scheduled on; whether that changed."""
    n = NAME_REFERENCES.c
    stored = set(conn.execute(select(n.name).where(n.dag_id == dag_id)).scalars())
    gone, new = stored - names, names - stored
    if gone:
        conn.execute(delete(NAME_REFERENCES).where(n.dag_id == dag_id, n.name.in_(sorted(gone))))
    if new:
        conn.execute(insert(NAME_REFERENCES), [{"dag_id": dag_id, "name": x} for x in sorted(new)])
    return bool(gone or new)


def queue_for_named(
    conn: SAConnection, event_id: int, asset_id: int, partition_key: str | None, now: datetime
) -> None:
    """Queue event ``event_id`` of asset ``asset_id`` for the DAGs scheduled on the asset's
    name that have not queued it already (as scheduled on the asset itself)."""
    n, q = NAME_REFERENCES.c, _QUEUE.c
    named = (
        select(
            n.dag_id,
            literal(event_id),
            literal(asset_id),
            literal(partition_key),
            literal(now, _EVENTS.c.timestamp.type),
        )
        .join(_ASSETS, _ASSETS.c.name == n.name)
        .where(
            _ASSETS.c.id == asset_id,
            ~exists().where(q.dag_id == n.dag_id, q.event_id == event_id),
        )
    )
    columns = ["dag_id", "event_id", "asset_id", "partition_key", "created_at"]
    conn.execute(insert(_QUEUE).from_select(columns, named))


def named_asset_ids(conn: SAConnection, names: set[str]) -> set[int]:
    """The ids of the assets bearing one of ``names``."""
    if not names:
        return set()
    rows = conn.execute(select(_ASSETS.c.id).where(_ASSETS.c.name.in_(sorted(names))))
    return set(rows.scalars())


def name_references(
    conn: SAConnection, dag_id: str | None, uri: str | None
) -> list[AssetReference]:
    """The name references (of ``dag_id``, to the asset of ``uri``), each as a ``schedule``
    reference of an asset bearing the name; a name no asset bears is not listed."""
    n = NAME_REFERENCES.c
    stmt: Any = select(n.dag_id, _ASSETS.c.uri).join(_ASSETS, _ASSETS.c.name == n.name)
    if dag_id is not None:
        stmt = stmt.where(n.dag_id == dag_id)
    if uri is not None:
        stmt = stmt.where(_ASSETS.c.uri == uri)
    return [AssetReference(row.dag_id, row.uri, SCHEDULE) for row in conn.execute(stmt)]
