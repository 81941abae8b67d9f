"""The asset port on SQL: assets, aliases, events and which DAGs they schedule (the tables
of :mod:`headwater.db.data_aware_models`, migration 0008).

Recording an event is an ``INSERT`` of the event and an ``INSERT ... SELECT`` that queues it
for every DAG whose ``schedule`` reference names its asset; the runs the events trigger read
and consume the queue in :mod:`headwater.store.sql.asset_queue`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection as SAConnection

from headwater.db import dialect
from headwater.db.data_aware_models import (
    AssetAliasAssetModel,
    AssetAliasModel,
    AssetDagRunQueueModel,
    AssetEventModel,
    AssetModel,
    DagAliasReferenceModel,
    DagAssetReferenceModel,
    DagRunAssetEventModel,
)
from headwater.engine.records import AttemptKey, OutletEvent
from headwater.store.assets import (
    SCHEDULE,
    SCHEDULE_ALIAS,
    SCHEDULE_NAME,
    AssetEventFilter,
    AssetEventRow,
    AssetReference,
    AssetRow,
    AssetSpec,
    UnknownAssetError,
)
from headwater.store.sql.asset_name_refs import (
    name_references,
    named_asset_ids,
    queue_for_named,
    set_name_references,
)
from headwater.store.sql.core import SqlCore

ASSETS = cast(Table, AssetModel.__table__)
ALIASES = cast(Table, AssetAliasModel.__table__)
ALIAS_ASSETS = cast(Table, AssetAliasAssetModel.__table__)
ASSET_EVENTS = cast(Table, AssetEventModel.__table__)
REFERENCES = cast(Table, DagAssetReferenceModel.__table__)
ALIAS_REFERENCES = cast(Table, DagAliasReferenceModel.__table__)
QUEUE = cast(Table, AssetDagRunQueueModel.__table__)
RUN_EVENTS = cast(Table, DagRunAssetEventModel.__table__)


def _asset_ids(
    conn: SAConnection, specs: Iterable[AssetSpec], now: datetime, *, update_existing: bool
) -> dict[str, int]:
    """The id of each asset by URI, inserting those that are new (and, with
    ``update_existing``, updating the name, group and extra of the others)."""
    wanted: dict[str, AssetSpec] = {}
    for spec in specs:
        wanted.setdefault(spec.uri, spec)
    if not wanted:
        return {}
    a = ASSETS.c
    rows = conn.execute(
        select(a.id, a.uri, a.name, a.group_name, a.extra).where(a.uri.in_(list(wanted)))
    ).all()
    found = {row.uri: row for row in rows}
    missing = [spec for uri, spec in wanted.items() if uri not in found]
    if missing:
        stmt: Any = dialect.insert(conn.dialect.name, ASSETS)
        conn.execute(
            stmt.on_conflict_do_nothing(index_elements=["uri"]),
            [
                {
                    "uri": s.uri,
                    "name": s.name or s.uri,
                    "group_name": s.group,
                    "extra": s.extra,
                    "created_at": now,
                    "updated_at": now,
                }
                for s in missing
            ],
        )
        rows = conn.execute(
            select(a.id, a.uri, a.name, a.group_name, a.extra).where(
                a.uri.in_([s.uri for s in missing])
            )
        ).all()
        found.update({row.uri: row for row in rows})
    if update_existing:
        for uri, spec in wanted.items():
            row = found[uri]
            if (row.name, row.group_name, row.extra) != (spec.name or uri, spec.group, spec.extra):
                conn.execute(
                    update(ASSETS)
                    .where(a.id == row.id)
                    .values(
                        name=spec.name or uri,
                        group_name=spec.group,
                        extra=spec.extra,
                        updated_at=now,
                    )
                )
    return {uri: row.id for uri, row in found.items()}


def _add_event(conn: SAConnection, asset_id: int, now: datetime, values: dict[str, Any]) -> int:
    """Insert one event and queue it for the DAGs scheduled on its asset."""
    result = conn.execute(insert(ASSET_EVENTS).values(asset_id=asset_id, timestamp=now, **values))
    inserted = result.inserted_primary_key
    assert inserted is not None  # an INSERT of one row has its key
    event_id = int(inserted[0])
    r = REFERENCES.c
    scheduled = select(
        r.dag_id,
        literal(event_id),
        literal(asset_id),
        literal(values.get("partition_key")),
        literal(now, ASSET_EVENTS.c.timestamp.type),
    ).where(r.asset_id == asset_id, r.kind == SCHEDULE)
    columns = ["dag_id", "event_id", "asset_id", "partition_key", "created_at"]
    conn.execute(insert(QUEUE).from_select(columns, scheduled))
    queue_for_named(conn, event_id, asset_id, values.get("partition_key"), now)
    alias = values.get("source_alias")
    if alias is not None:  # and the DAGs scheduled on the alias it came through
        ar, q = ALIAS_REFERENCES.c, QUEUE.c
        on_alias = (
            select(
                ar.dag_id,
                literal(event_id),
                literal(asset_id),
                literal(values.get("partition_key")),
                literal(now, ASSET_EVENTS.c.timestamp.type),
            )
            .join(ALIASES, ALIASES.c.id == ar.alias_id)
            .where(
                ALIASES.c.name == alias,
                ~exists().where(q.dag_id == ar.dag_id, q.event_id == event_id),
            )
        )
        conn.execute(insert(QUEUE).from_select(columns, on_alias))
    return event_id


def _alias_id(conn: SAConnection, alias: str) -> int:
    """The id of the alias named ``alias``, stored if new."""
    stmt: Any = dialect.insert(conn.dialect.name, ALIASES)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]).values(name=alias))
    return int(conn.execute(select(ALIASES.c.id).where(ALIASES.c.name == alias)).scalar_one())


def _link_alias(conn: SAConnection, alias: str, asset_id: int) -> None:
    alias_id = _alias_id(conn, alias)
    conn.execute(
        dialect.insert_if_absent(conn.dialect.name, ALIAS_ASSETS).values(
            alias_id=alias_id, asset_id=asset_id
        )
    )


def record_outlet_events(
    conn: SAConnection, key: AttemptKey, events: list[OutletEvent], now: datetime
) -> None:
    """Record the asset events of attempt ``key``, which succeeded, and queue them for the
    DAGs scheduled on their assets (inside the transaction that records its outcome)."""
    ids = _asset_ids(conn, (AssetSpec(e.uri) for e in events), now, update_existing=False)
    for event in events:
        asset_id = ids[event.uri]
        _add_event(
            conn,
            asset_id,
            now,
            {
                "extra": event.extra,
                "partition_key": event.partition_key,
                "source_dag_id": key.dag_id,
                "source_run_id": key.run_id,
                "source_task_id": key.task_id,
                "source_map_index": key.map_index,
                "source_alias": event.alias,
            },
        )
        if event.alias is not None:
            _link_alias(conn, event.alias, asset_id)


def _set_alias_references(conn: SAConnection, dag_id: str, aliases: set[str]) -> bool:
    """Make ``aliases`` the aliases DAG ``dag_id`` is scheduled on; whether that changed."""
    ar = ALIAS_REFERENCES.c
    stored = {
        row.name: row.alias_id
        for row in conn.execute(
            select(ar.alias_id, ALIASES.c.name)
            .join(ALIASES, ALIASES.c.id == ar.alias_id)
            .where(ar.dag_id == dag_id)
        )
    }
    gone = [stored[name] for name in stored.keys() - aliases]
    if gone:
        conn.execute(delete(ALIAS_REFERENCES).where(ar.dag_id == dag_id, ar.alias_id.in_(gone)))
    new = sorted(aliases - stored.keys())
    if new:
        conn.execute(
            insert(ALIAS_REFERENCES),
            [{"dag_id": dag_id, "alias_id": _alias_id(conn, name)} for name in new],
        )
    return bool(gone or new)


def _drop_unscheduled(conn: SAConnection, dag_id: str, assets: set[int], aliases: set[str]) -> None:
    """Take off ``dag_id``'s queue the events of assets it is no longer scheduled on (and
    that came through no alias it is scheduled on)."""
    q, e = QUEUE.c, ASSET_EVENTS.c
    rows = conn.execute(
        select(q.event_id, q.asset_id, e.source_alias)
        .join(ASSET_EVENTS, e.id == q.event_id)
        .where(q.dag_id == dag_id)
    ).all()
    dropped = [
        row.event_id
        for row in rows
        if row.asset_id not in assets and row.source_alias not in aliases
    ]
    if dropped:
        conn.execute(delete(QUEUE).where(q.dag_id == dag_id, q.event_id.in_(dropped)))


def _to_asset(row: Row[Any]) -> AssetRow:
    v = row._mapping
    return AssetRow(
        v["id"],
        v["uri"],
        v["name"],
        v["group_name"],
        dict(v["extra"] or {}),
        v["created_at"],
        v["updated_at"],
    )


def to_event(row: Row[Any]) -> AssetEventRow:
    """An asset event as :func:`select_events` reads it."""
    v = row._mapping
    return AssetEventRow(
        id=v["id"],
        asset_id=v["asset_id"],
        uri=v["uri"],
        timestamp=v["timestamp"],
        extra=dict(v["extra"] or {}),
        partition_key=v["partition_key"],
        source_dag_id=v["source_dag_id"],
        source_run_id=v["source_run_id"],
        source_task_id=v["source_task_id"],
        source_map_index=v["source_map_index"],
        source_alias=v["source_alias"],
        created_by=v["created_by"],
    )


def select_events() -> Select[Any]:
    """Asset events with their asset's URI (to read with :func:`to_event`)."""
    return select(ASSET_EVENTS, ASSETS.c.uri).join(ASSETS, ASSETS.c.id == ASSET_EVENTS.c.asset_id)


def _filtered(stmt: Select[Any], f: AssetEventFilter | None) -> Select[Any]:
    if f is None:
        return stmt
    e = ASSET_EVENTS.c
    for column, value in (
        (ASSETS.c.uri, f.uri),
        (e.asset_id, f.asset_id),
        (e.source_dag_id, f.source_dag_id),
        (e.source_run_id, f.source_run_id),
        (e.source_task_id, f.source_task_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.after is not None:
        stmt = stmt.where(e.timestamp >= f.after)
    if f.before is not None:
        stmt = stmt.where(e.timestamp < f.before)
    return stmt


def _uri_like(pattern: str) -> Any:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ASSETS.c.uri.like(f"%{escaped}%", escape="\\")


class SqlAssets(SqlCore):
    """Assets and their events on SQL."""

    def register_assets(self, assets: Iterable[AssetSpec], now: datetime) -> None:
        with self._write() as conn:
            _asset_ids(conn, assets, now, update_existing=True)

    def set_dag_asset_references(
        self,
        dag_id: str,
        assets: Sequence[AssetSpec],
        references: Iterable[AssetReference],
        now: datetime,
    ) -> None:
        refs = set(references)
        for ref in refs:
            if ref.dag_id != dag_id:
                raise ValueError(f"a reference of DAG {ref.dag_id!r} given for {dag_id!r}")
        aliases = {r.uri for r in refs if r.kind == SCHEDULE_ALIAS}
        names = {r.uri for r in refs if r.kind == SCHEDULE_NAME}
        refs = {r for r in refs if r.kind not in (SCHEDULE_ALIAS, SCHEDULE_NAME)}
        with self._write() as conn:
            aliases_changed = _set_alias_references(conn, dag_id, aliases)
            aliases_changed |= set_name_references(conn, dag_id, names)
            _asset_ids(conn, assets, now, update_existing=True)
            ids = _asset_ids(conn, (AssetSpec(r.uri) for r in refs), now, update_existing=False)
            r = REFERENCES.c
            stored = {
                (row.asset_id, row.kind, row.task_id)
                for row in conn.execute(
                    select(r.asset_id, r.kind, r.task_id).where(r.dag_id == dag_id)
                )
            }
            wanted = {(ids[ref.uri], ref.kind, ref.task_id) for ref in refs}
            for asset_id, kind, task_id in stored - wanted:
                conn.execute(
                    delete(REFERENCES).where(
                        r.dag_id == dag_id,
                        r.asset_id == asset_id,
                        r.kind == kind,
                        r.task_id == task_id,
                    )
                )
            if wanted - stored:
                conn.execute(
                    insert(REFERENCES),
                    [
                        {"dag_id": dag_id, "asset_id": a, "kind": k, "task_id": t}
                        for a, k, t in sorted(wanted - stored)
                    ],
                )
            # Events of assets the DAG is no longer scheduled on leave its queue.
            if aliases_changed or any(k == SCHEDULE for _, k, _ in stored - wanted):
                scheduled = {a for a, k, _ in wanted if k == SCHEDULE}
                scheduled |= named_asset_ids(conn, names)
                _drop_unscheduled(conn, dag_id, scheduled, aliases)

    def get_asset(self, asset_id: int) -> AssetRow | None:
        with self._read() as conn:
            row = conn.execute(select(ASSETS).where(ASSETS.c.id == asset_id)).first()
        return None if row is None else _to_asset(row)

    def get_asset_by_uri(self, uri: str) -> AssetRow | None:
        with self._read() as conn:
            row = conn.execute(select(ASSETS).where(ASSETS.c.uri == uri)).first()
        return None if row is None else _to_asset(row)

    def list_assets(
        self, *, uri_pattern: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[AssetRow]:
        stmt = select(ASSETS).order_by(ASSETS.c.uri).offset(offset).limit(limit)
        if uri_pattern:
            stmt = stmt.where(_uri_like(uri_pattern))
        with self._read() as conn:
            return [_to_asset(row) for row in conn.execute(stmt)]

    def count_assets(self, *, uri_pattern: str | None = None) -> int:
        stmt = select(func.count()).select_from(ASSETS)
        if uri_pattern:
            stmt = stmt.where(_uri_like(uri_pattern))
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def list_dag_asset_references(
        self, *, dag_id: str | None = None, uri: str | None = None
    ) -> list[AssetReference]:
        r = REFERENCES.c
        stmt = select(r.dag_id, ASSETS.c.uri, r.kind, r.task_id).join(
            ASSETS, ASSETS.c.id == r.asset_id
        )
        if dag_id is not None:
            stmt = stmt.where(r.dag_id == dag_id)
        if uri is not None:
            stmt = stmt.where(ASSETS.c.uri == uri)
        ar = ALIAS_REFERENCES.c
        on_aliases = select(ar.dag_id, ALIASES.c.name).join(ALIASES, ALIASES.c.id == ar.alias_id)
        if dag_id is not None:
            on_aliases = on_aliases.where(ar.dag_id == dag_id)
        if uri is not None:
            on_aliases = on_aliases.where(ALIASES.c.name == uri)
        with self._read() as conn:
            found = [AssetReference(*row) for row in conn.execute(stmt)]
            found += [
                AssetReference(row.dag_id, row.name, SCHEDULE_ALIAS)
                for row in conn.execute(on_aliases)
            ]
            found += name_references(conn, dag_id, uri)
        return sorted(set(found), key=lambda r: (r.dag_id, r.uri, r.kind, r.task_id))

    def create_asset_event(
        self,
        uri: str,
        *,
        timestamp: datetime,
        extra: dict[str, Any] | None = None,
        created_by: str | None = None,
        create: bool = False,
        partition_key: str | None = None,
    ) -> AssetEventRow:
        with self._write() as conn:
            asset_id = conn.execute(select(ASSETS.c.id).where(ASSETS.c.uri == uri)).scalar()
            if asset_id is None:
                if not create:
                    raise UnknownAssetError(uri)
                asset_id = _asset_ids(conn, [AssetSpec(uri)], timestamp, update_existing=False)[uri]
            values = {
                "extra": extra or {},
                "created_by": created_by,
                "partition_key": partition_key,
            }
            event_id = _add_event(conn, asset_id, timestamp, values)
            row = conn.execute(select_events().where(ASSET_EVENTS.c.id == event_id)).one()
        return to_event(row)

    def list_asset_events(
        self,
        filters: AssetEventFilter | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[AssetEventRow]:
        order = ASSET_EVENTS.c.id.desc() if newest_first else ASSET_EVENTS.c.id
        stmt = _filtered(select_events(), filters).order_by(order).offset(offset).limit(limit)
        with self._read() as conn:
            return [to_event(row) for row in conn.execute(stmt)]

    def count_asset_events(self, filters: AssetEventFilter | None = None) -> int:
        stmt = _filtered(
            select(func.count())
            .select_from(ASSET_EVENTS)
            .join(ASSETS, ASSETS.c.id == ASSET_EVENTS.c.asset_id),
            filters,
        )
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())
