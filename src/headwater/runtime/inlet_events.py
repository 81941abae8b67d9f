"""``context["inlet_events"]``: the stored events of the assets and aliases a task reads.

What Airflow users write, each answered with a list of stored events, oldest first::

    inlet_events[sales]                       # an inlet Asset (or its URI)
    inlet_events[AssetAlias("daily")]         # events recorded through an inlet alias
    inlet_events[0]                           # the task's first inlet
    inlet_events.for_asset(name="sales")      # Airflow 3.1+: by name and/or URI
    inlet_events.for_asset_alias(name="daily")

An inlet with no events yet gives an empty list (a ``dags test`` run of a consumer has no
producer run before it). Indexing by an asset or alias that is not one of the task's inlets
raises a ``KeyError`` naming the task and its inlets, as Airflow refuses it too;
``for_asset``/``for_asset_alias`` are explicit look-ups and take any asset or alias.
Events are read from the store the first time each key is asked for, then kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.assets import Asset, AssetAlias
from headwater.store.assets import AssetEventFilter, AssetEventRow, AssetStore

if TYPE_CHECKING:
    from headwater.store.base import MetadataStore


class InletEventsAccessors(Mapping[Any, list[AssetEventRow]]):
    """The events of a task's inlets, by Asset, AssetAlias, URI or inlet index."""

    def __init__(self, task_id: str, inlets: list[Any], store: MetadataStore | None) -> None:
        self._task_id = task_id
        self._inlets = list(inlets)
        self._assets = store if isinstance(store, AssetStore) else None
        self._cache: dict[Asset | AssetAlias, list[AssetEventRow]] = {}

    def __getitem__(self, key: Any) -> list[AssetEventRow]:
        resolved = self._inlet(key)
        return self._events(resolved)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)

    def __repr__(self) -> str:
        return f"InletEventsAccessors({self._inlets!r})"

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEventRow]:
        """The events of the asset named ``name`` and/or with URI ``uri`` (Airflow 3.1+).
        An asset that is not known yet has no events: an empty list."""
        if name is None and uri is None:
            raise TypeError(f"task {self._task_id!r}: inlet_events.for_asset() needs name or uri")
        found = uri if uri is not None else self._uri_of_name(str(name))
        if found is None:
            return []
        if name is not None and uri is not None and not self._has_name(uri, name):
            return []
        return self._events(Asset(found))

    def for_asset_alias(self, *, name: str) -> list[AssetEventRow]:
        """The events recorded through the alias ``name`` (Airflow 3.1+)."""
        return self._events(AssetAlias(name))

    def _inlet(self, key: Any) -> Asset | AssetAlias:
        if isinstance(key, int) and not isinstance(key, bool):
            found = self._inlets[key]  # an IndexError past the end, as a list's
            if not isinstance(found, Asset | AssetAlias):
                raise IndexError(key)
            return found
        wanted = Asset(key) if isinstance(key, str) else key
        if isinstance(wanted, Asset | AssetAlias) and wanted in self._inlets:
            return wanted
        raise KeyError(
            f"task {self._task_id!r}: {key!r} is not one of its inlets "
            f"({', '.join(map(repr, self._inlets)) or 'none'}); add it to inlets=[...], "
            "or use inlet_events.for_asset(...) / for_asset_alias(...)"
        )

    def _events(self, key: Asset | AssetAlias) -> list[AssetEventRow]:
        if key not in self._cache:
            self._cache[key] = self._read(key)
        return self._cache[key]

    def _read(self, key: Asset | AssetAlias) -> list[AssetEventRow]:
        if self._assets is None:
            return []
        if isinstance(key, Asset):
            return self._assets.list_asset_events(AssetEventFilter(uri=key.uri))
        # The store filters by asset, not alias: the events an alias recorded are those
        # whose source_alias names it.
        return [e for e in self._assets.list_asset_events() if e.source_alias == key.name]

    def _uri_of_name(self, name: str) -> str | None:
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and inlet.name == name:
                return inlet.uri
        if self._assets is None:
            return None
        for row in self._assets.list_assets():
            if row.name == name:
                return row.uri
        return None

    def _has_name(self, uri: str, name: str) -> bool:
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and inlet.uri == uri:
                return inlet.name == name
        row = None if self._assets is None else self._assets.get_asset_by_uri(uri)
        return row is None or row.name == name
