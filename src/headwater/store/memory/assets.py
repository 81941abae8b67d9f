"""The asset port in memory (see :mod:`headwater.store.assets`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

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
    QueuedAssetEvent,
    UnknownAssetError,
)
from headwater.store.memory.asset_tables import AssetTables
from headwater.store.memory.core import MemoryCore, copy_json


def _page(rows: list[Any], limit: int | None, offset: int) -> list[Any]:
    return rows[offset:] if limit is None else rows[offset : offset + limit]


def _kept(event: AssetEventRow, f: AssetEventFilter | None) -> bool:
    if f is None:
        return True
    return (
        (f.uri is None or event.uri == f.uri)
        and (f.asset_id is None or event.asset_id == f.asset_id)
        and (f.source_dag_id is None or event.source_dag_id == f.source_dag_id)
        and (f.source_run_id is None or event.source_run_id == f.source_run_id)
        and (f.source_task_id is None or event.source_task_id == f.source_task_id)
        and (f.after is None or event.timestamp >= f.after)
        and (f.before is None or event.timestamp < f.before)
    )


class MemoryAssets(MemoryCore):
    """Assets, aliases, events and the queue of DAGs scheduled on them, in memory."""

    @property
    def _a(self) -> AssetTables:
        return self._s.asset_tables

    # -- assets and references ----------------------------------------------------------------

    def _register(self, spec: AssetSpec, now: datetime, *, update: bool) -> int:
        """The id of ``spec``'s asset, stored if new (call with the lock held)."""
        asset_id = self._a.ids_by_uri.get(spec.uri)
        if asset_id is None:
            asset_id = self._s.next_id("assets")
            self._a.ids_by_uri[spec.uri] = asset_id
            self._a.assets[asset_id] = AssetRow(
                asset_id,
                spec.uri,
                spec.name or spec.uri,
                spec.group,
                copy_json(spec.extra),
                now,
                now,
            )
        elif update:
            row = self._a.assets[asset_id]
            changed = (spec.name or spec.uri, spec.group, spec.extra)
            if (row.name, row.group, row.extra) != changed:
                self._a.assets[asset_id] = dataclasses.replace(
                    row,
                    name=changed[0],
                    group=spec.group,
                    extra=copy_json(spec.extra),
                    updated_at=now,
                )
        return asset_id

    def register_assets(self, assets: Iterable[AssetSpec], now: datetime) -> None:
        with self._lock:
            for spec in assets:
                self._register(spec, now, update=True)

    def set_dag_asset_references(
        self,
        dag_id: str,
        assets: Sequence[AssetSpec],
        references: Iterable[AssetReference],
        now: datetime,
    ) -> None:
        with self._lock:
            for spec in assets:
                self._register(spec, now, update=True)
            refs = sorted(set(references), key=lambda r: (r.uri, r.kind, r.task_id))
            for ref in refs:
                if ref.dag_id != dag_id:
                    raise ValueError(f"a reference of DAG {ref.dag_id!r} given for {dag_id!r}")
                if ref.kind not in (SCHEDULE_ALIAS, SCHEDULE_NAME):  # names are no URIs
                    self._register(AssetSpec(ref.uri), now, update=False)
            if refs:
                self._a.references[dag_id] = refs
            else:
                self._a.references.pop(dag_id, None)
            # Events of assets the DAG is no longer scheduled on leave its queue.
            scheduled = {r.uri for r in refs if r.kind == SCHEDULE}
            aliases = {r.uri for r in refs if r.kind == SCHEDULE_ALIAS}
            names = {r.uri for r in refs if r.kind == SCHEDULE_NAME}
            for queued_dag, event_id in list(self._a.queue):
                event = self._a.events[event_id]
                if queued_dag == dag_id and not (
                    event.uri in scheduled
                    or event.source_alias in aliases
                    or self._a.assets[event.asset_id].name in names
                ):
                    del self._a.queue[(queued_dag, event_id)]

    def get_asset(self, asset_id: int) -> AssetRow | None:
        with self._lock:
            return self._a.assets.get(asset_id)

    def get_asset_by_uri(self, uri: str) -> AssetRow | None:
        with self._lock:
            asset_id = self._a.ids_by_uri.get(uri)
            return None if asset_id is None else self._a.assets[asset_id]

    def _assets(self, uri_pattern: str | None) -> list[AssetRow]:
        rows = sorted(self._a.assets.values(), key=lambda r: r.uri)
        return [r for r in rows if uri_pattern is None or uri_pattern in r.uri]

    def list_assets(
        self, *, uri_pattern: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[AssetRow]:
        with self._lock:
            return _page(self._assets(uri_pattern), limit, offset)

    def count_assets(self, *, uri_pattern: str | None = None) -> int:
        with self._lock:
            return len(self._assets(uri_pattern))

    def list_dag_asset_references(
        self, *, dag_id: str | None = None, uri: str | None = None
    ) -> list[AssetReference]:
        with self._lock:
            uris_by_name: dict[str, list[str]] = {}
            for row in self._a.assets.values():
                uris_by_name.setdefault(row.name, []).append(row.uri)
            refs = []
            for ref in (r for rs in self._a.references.values() for r in rs):
                if ref.kind != SCHEDULE_NAME:
                    refs.append(ref)
                    continue
                # A name reference reads as a schedule reference of the asset bearing it.
                for named in uris_by_name.get(ref.uri, []):
                    refs.append(AssetReference(ref.dag_id, named, SCHEDULE))
        return sorted(
            {r for r in refs if dag_id in (None, r.dag_id) and uri in (None, r.uri)},
            key=lambda r: (r.dag_id, r.uri, r.kind, r.task_id),
        )

    # -- events -------------------------------------------------------------------------------

    def _add_event(self, spec: AssetSpec, now: datetime, **values: Any) -> AssetEventRow:
        """Store one event and queue it for the DAGs scheduled on its asset (lock held)."""
        asset_id = self._register(spec, now, update=False)
        event_id = self._s.next_id("asset_events")
        event = AssetEventRow(id=event_id, asset_id=asset_id, uri=spec.uri, timestamp=now, **values)
        self._a.events[event_id] = event
        alias = values.get("source_alias")
        name = self._a.assets[asset_id].name
        for dag_id, refs in self._a.references.items():
            if any(
                (r.uri == spec.uri and r.kind == SCHEDULE)
                or (alias is not None and r.uri == alias and r.kind == SCHEDULE_ALIAS)
                or (r.uri == name and r.kind == SCHEDULE_NAME)
                for r in refs
            ):
                self._a.queue[(dag_id, event_id)] = None
        return event

    def _record_outlet_events(
        self, key: AttemptKey, events: list[OutletEvent], now: datetime
    ) -> None:
        """Record a successful attempt's events (with its outcome; call with the lock held)."""
        for outlet in events:
            event = self._add_event(
                AssetSpec(outlet.uri),
                now,
                extra=copy_json(outlet.extra),
                partition_key=outlet.partition_key,
                source_dag_id=key.dag_id,
                source_run_id=key.run_id,
                source_task_id=key.task_id,
                source_map_index=key.map_index,
                source_alias=outlet.alias,
            )
            if outlet.alias is not None:
                self._a.alias_assets.setdefault(outlet.alias, set()).add(event.asset_id)

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
        with self._lock:
            if uri not in self._a.ids_by_uri and not create:
                raise UnknownAssetError(uri)
            return self._add_event(
                AssetSpec(uri),
                timestamp,
                extra=copy_json(extra or {}),
                created_by=created_by,
                partition_key=partition_key,
            )

    def list_asset_events(
        self,
        filters: AssetEventFilter | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[AssetEventRow]:
        with self._lock:
            rows = [e for e in self._a.events.values() if _kept(e, filters)]
        rows.sort(key=lambda e: e.id, reverse=newest_first)
        return _page(rows, limit, offset)

    def count_asset_events(self, filters: AssetEventFilter | None = None) -> int:
        with self._lock:
            return sum(1 for e in self._a.events.values() if _kept(e, filters))

    # -- the queue ------------------------------------------------------------------------------

    def queued_asset_events(self, dag_id: str | None = None) -> list[QueuedAssetEvent]:
        with self._lock:
            found = []
            for queued_dag, event_id in sorted(self._a.queue):
                if dag_id is not None and queued_dag != dag_id:
                    continue
                event = self._a.events[event_id]
                found.append(
                    QueuedAssetEvent(
                        queued_dag,
                        event_id,
                        event.asset_id,
                        event.uri,
                        event.timestamp,
                        event.source_alias,
                        event.partition_key,
                        self._a.assets[event.asset_id].name,
                    )
                )
            return found

    def consume_queued_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> int:
        with self._lock:
            self._require_run(dag_id, run_id)
            taken = [e for e in dict.fromkeys(event_ids) if (dag_id, e) in self._a.queue]
            for event_id in taken:
                del self._a.queue[(dag_id, event_id)]
            self._link_events(dag_id, run_id, taken)
            return len(taken)

    def record_triggering_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> None:
        with self._lock:
            self._require_run(dag_id, run_id)
            self._link_events(dag_id, run_id, (e for e in event_ids if e in self._a.events))

    def _require_run(self, dag_id: str, run_id: str) -> None:
        if (dag_id, run_id) not in self._s.runs:
            raise KeyError(f"DAG {dag_id!r} has no run {run_id!r}")

    def _link_events(self, dag_id: str, run_id: str, event_ids: Iterable[int]) -> None:
        """Record ``event_ids`` as events that triggered the run, each once (lock held)."""
        recorded = self._a.run_events.setdefault((dag_id, run_id), [])
        recorded.extend(e for e in dict.fromkeys(event_ids) if e not in recorded)

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[AssetEventRow]:
        with self._lock:
            ids = sorted(self._a.run_events.get((dag_id, run_id), []))
            return [self._a.events[i] for i in ids if i in self._a.events]
