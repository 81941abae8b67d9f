"""The asset side of one attempt: what its context offers and the events it emits.

Context keys (also in templates):

* ``outlet_events``: ``outlet_events[asset].extra["rows"] = 12`` attaches metadata to the
  event of an outlet; ``outlet_events[alias].add(Asset(uri), extra={...})`` emits an event
  for an asset decided at run time, through an ``AssetAlias`` outlet;
  ``outlet_events[asset].add_partitions(["us", "eu"])`` emits the asset's event once per
  partition key named (Airflow 3.3's partitioned assets) instead of once with the run's.
* ``inlet_events``: ``inlet_events[asset]`` (or ``[alias]``) lists the stored events of an
  inlet, oldest first (newest last), read when first asked for
  (:mod:`headwater.runtime.inlet_events`).
* ``triggering_asset_events``: for an asset-triggered run, the events that triggered it by
  asset URI (``triggering_asset_events[uri]`` or ``[asset]``), read when first asked for.

:func:`outlet_events_of` turns what the attempt did into the
:class:`~headwater.engine.records.OutletEvent` list of its successful outcome: one per outlet
asset, plus one per asset added to an alias; the store records them with the outcome.
A task may also return :class:`~headwater.authoring.assets.Metadata` (:func:`take_metadata`)
or, as Airflow's generator tasks do, yield it (:func:`drain_yielded`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.asset_partitions import check_open_key
from headwater.authoring.assets import Asset, AssetAlias, Metadata
from headwater.engine.records import OutletEvent
from headwater.exceptions import HeadwaterError, InvalidPartitionKeyError
from headwater.runtime.inlet_events import InletEventsAccessors
from headwater.store.assets import AssetEventRow, AssetStore
from headwater.strict_json import require_finite

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore

ASSET_TRIGGERED = "asset_triggered"


class OutletEventAccessor:
    """The event an attempt emits for one outlet (``extra``), or, for an alias, the assets
    added to it (:meth:`add`)."""

    def __init__(self, key: Asset | AssetAlias) -> None:
        self.key = key
        self.extra: dict[str, Any] = {}
        self.asset_alias_events: list[tuple[Asset, dict[str, Any]]] = []
        self.partition_keys: dict[str, None] = {}
        """The partitions the attempt updated, when it names them (an ordered set)."""

    def add_partitions(self, keys: str | Iterable[str]) -> None:
        """Emit the asset's event once per partition key in ``keys`` (a key or several; each
        once) instead of once with the run's key (Airflow 3.3's partitioned assets)."""
        if not isinstance(self.key, Asset):
            raise HeadwaterError(
                f"outlet_events[{self.key!r}].add_partitions(): partition keys go with an "
                "asset, not an alias"
            )
        listed = [keys] if isinstance(keys, str) else list(keys)
        for key in listed:
            try:
                check_open_key(key)
            except InvalidPartitionKeyError as exc:
                raise HeadwaterError(
                    f"outlet_events[{self.key!r}].add_partitions(): {exc}"
                ) from None
        self.partition_keys.update(dict.fromkeys(listed))

    def add(self, asset: Asset, extra: Mapping[str, Any] | None = None) -> None:
        """Emit an event for ``asset`` through this alias (or this asset's own, with
        ``extra`` merged)."""
        if not isinstance(asset, Asset):
            raise HeadwaterError(f"outlet_events[...].add() takes an Asset, got {asset!r:.80}")
        if isinstance(self.key, Asset):
            if asset != self.key:
                raise HeadwaterError(
                    f"outlet_events[{self.key!r}].add({asset!r}): only an AssetAlias takes "
                    "other assets"
                )
            self.extra.update(extra or {})
            return
        self.asset_alias_events.append((asset, dict(extra or {})))


class OutletEventAccessors(Mapping[Any, OutletEventAccessor]):
    """``context["outlet_events"]``: an accessor per outlet (Asset, AssetAlias, or URI)."""

    def __init__(self, outlets: list[Any]) -> None:
        self._by_key: dict[Asset | AssetAlias, OutletEventAccessor] = {
            o: OutletEventAccessor(o) for o in outlets
        }

    def _key(self, key: Any) -> Asset | AssetAlias:
        if isinstance(key, str):
            key = Asset(key)
        if not isinstance(key, Asset | AssetAlias):
            raise KeyError(key)
        return key

    def __getitem__(self, key: Any) -> OutletEventAccessor:
        # An asset that is not an outlet gets one too (Airflow's behaviour), but emits
        # nothing unless it is an outlet.
        resolved = self._key(key)
        if resolved not in self._by_key:
            self._by_key[resolved] = OutletEventAccessor(resolved)
        return self._by_key[resolved]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)


class _LazyEvents(Mapping[str, list[AssetEventRow]]):
    """Events by asset URI, read from the store the first time they are asked for."""

    def __init__(self, load: Callable[[], dict[str, list[AssetEventRow]]]) -> None:
        self._load = load
        self._events: dict[str, list[AssetEventRow]] | None = None

    def _all(self) -> dict[str, list[AssetEventRow]]:
        if self._events is None:
            self._events = self._load()
        return self._events

    def __getitem__(self, key: Any) -> list[AssetEventRow]:
        uri = key.uri if isinstance(key, Asset) else key
        return self._all()[uri]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


def asset_context(task: BaseOperator, run: DagRun, store: MetadataStore) -> dict[str, Any]:
    """The context entries of one attempt of ``task`` in ``run``."""
    assets = store if isinstance(store, AssetStore) else None

    def triggering() -> dict[str, list[AssetEventRow]]:
        found: dict[str, list[AssetEventRow]] = {}
        if assets is None or run.run_type != ASSET_TRIGGERED:
            return found
        for event in assets.triggering_asset_events(run.dag_id, run.run_id):
            found.setdefault(event.uri, []).append(event)
        return found

    return {
        "outlet_events": OutletEventAccessors(list(task.outlets)),
        "inlet_events": InletEventsAccessors(task.task_id, list(task.inlets), store),
        "triggering_asset_events": _LazyEvents(triggering),
    }


def take_metadata(result: Any, context: Mapping[str, Any]) -> Any:
    """A task's return value, with ``Metadata`` objects (one, or a list of them) moved into
    ``context["outlet_events"]``: they are asset metadata, not an XCom."""
    items = result if isinstance(result, list) else [result]
    if not items or not all(isinstance(item, Metadata) for item in items):
        return result
    accessors = context.get("outlet_events")
    if not isinstance(accessors, OutletEventAccessors):
        return result
    for item in items:
        _apply(item, accessors)
    return None


def drain_yielded(result: Any, context: Mapping[str, Any], log: logging.Logger) -> Any:
    """For a task whose callable is a generator (Airflow's ``yield Metadata(asset, extra)``):
    run it to its end, moving each yielded ``Metadata`` into ``context["outlet_events"]``, as
    if the task had set ``outlet_events[asset].extra``. Anything else yielded is logged and
    dropped. The task's value is the generator's ``return`` value (None without one), not
    the generator, which could not be an XCom. Any other result is returned as it is."""
    if not inspect.isgenerator(result):
        return result
    accessors = context.get("outlet_events")
    while True:
        try:
            item = next(result)
        except StopIteration as stop:
            return take_metadata(stop.value, context)
        if isinstance(item, Metadata) and isinstance(accessors, OutletEventAccessors):
            _apply(item, accessors)
        else:
            log.warning("Ignoring a yielded %s: a task yields only Metadata", type(item).__name__)


def _apply(item: Metadata, accessors: OutletEventAccessors) -> None:
    if item.alias is not None:
        accessors[item.alias].add(item.asset, item.extra)
    else:
        accessors[item.asset].extra.update(item.extra)


def outlet_events_of(
    task: BaseOperator, context: Mapping[str, Any], run: DagRun | None = None
) -> list[OutletEvent]:
    """The events a successful attempt of ``task`` emits: one per outlet asset (with the
    ``extra`` it set), and one per asset added to an outlet alias. Extras must be JSON."""
    accessors = context.get("outlet_events")
    if not task.outlets:
        return []
    partition = getattr(run, "partition_key", None)
    events: list[OutletEvent] = []
    for outlet in task.outlets:
        accessor = (
            accessors[outlet]
            if isinstance(accessors, OutletEventAccessors)
            else OutletEventAccessor(outlet)
        )
        if isinstance(outlet, Asset):
            extra = _json(accessor.extra, outlet, task)
            for key in accessor.partition_keys or [partition]:
                events.append(OutletEvent(outlet.uri, extra, None, key))
            continue
        for asset, extra in accessor.asset_alias_events:
            events.append(OutletEvent(asset.uri, _json(extra, asset, task), outlet.name, partition))
    return events


def _json(extra: dict[str, Any], asset: Asset, task: BaseOperator) -> dict[str, Any]:
    import json

    what = f"task {task.task_id!r}: extra of the event of {asset.uri!r}"
    require_finite(extra, what)
    try:
        result: dict[str, Any] = json.loads(json.dumps(extra))
    except (TypeError, ValueError) as exc:
        raise HeadwaterError(f"{what} must be JSON values: {exc}") from None
    return result
