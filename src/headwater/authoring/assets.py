"""Assets: the data pipelines produce and consume, and the conditions DAGs are scheduled on.

A task names the assets it updates in ``outlets`` (each successful attempt records an event
per asset) and those it reads in ``inlets``. A DAG scheduled on assets runs when its
condition is met by the events queued for it since its last asset-triggered run::

    sales = Asset("s3://bucket/sales.parquet")
    stock = Asset("s3://bucket/stock.parquet")
    DAG("report", schedule=[sales, stock])        # both updated (= sales & stock)
    DAG("refresh", schedule=sales | stock)        # either
    DAG("nightly", schedule=AssetOrTimeSchedule(timetable="@daily", assets=sales))

Pure description, no I/O: the store records events, the scheduler evaluates conditions
(:meth:`AssetCondition.evaluate` over the URIs of the queued events).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.authoring.asset_access import AssetAccessControl
from headwater.authoring.asset_watchers import AssetWatcher, check_watchers, watcher_from_json
from headwater.authoring.partitions import Partitions, check_partitions, partitions_from_json
from headwater.exceptions import DagDefinitionError, InvalidScheduleError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

__all__ = [
    "RESERVED_SCHEMES",
    "Asset",
    "AssetAccessControl",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetCondition",
    "AssetOrTimeSchedule",
    "Dataset",
    "Metadata",
    "asset",
    "check_asset_references",
    "condition_from_json",
    "reference_from_json",
    "split_schedule",
]

MAX_URI_LENGTH = 1500
RESERVED_SCHEMES = frozenset({"airflow", "headwater"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def _check_uri(uri: Any) -> str:
    if not isinstance(uri, str):
        raise DagDefinitionError(f"asset URI must be a string, got {uri!r:.80}")
    if not uri:
        raise DagDefinitionError("asset URI must not be empty")
    if len(uri) > MAX_URI_LENGTH:
        raise DagDefinitionError(
            f"asset URI {uri[:60]!r}... is {len(uri)} characters long; at most "
            f"{MAX_URI_LENGTH} are allowed"
        )
    if not uri.isascii():
        raise DagDefinitionError(f"asset URI {uri!r} must only hold ASCII characters")
    if any(c.isspace() for c in uri):
        raise DagDefinitionError(f"asset URI {uri!r} must not hold spaces")
    match = _SCHEME.match(uri)
    if match and match.group(1).lower() in RESERVED_SCHEMES:
        raise DagDefinitionError(
            f"asset URI {uri!r}: the scheme {match.group(1)!r} is reserved for headwater"
        )
    return uri


class AssetCondition:
    """What a DAG scheduled on assets waits for: an asset, an alias, or any/all of some."""

    def evaluate(self, updated: set[str]) -> bool:
        """Whether the condition holds, given the URIs (and alias names) of updated assets."""
        raise NotImplementedError

    def iter_assets(self) -> Iterator[Asset]:
        """The assets the condition names, depth first (an asset may repeat)."""
        raise NotImplementedError

    def iter_aliases(self) -> Iterator[AssetAlias]:
        return iter(())

    def iter_refs(self) -> Iterator[Any]:
        """The assets the condition refers to by name or URI (``Asset.ref``), depth first."""
        return iter(())

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __or__(self, other: AssetCondition) -> AssetAny:
        _check_condition(other, "|")
        return AssetAny(self, other)

    def __and__(self, other: AssetCondition) -> AssetAll:
        _check_condition(other, "&")
        return AssetAll(self, other)


def _check_condition(value: Any, where: str) -> AssetCondition:
    if not isinstance(value, AssetCondition):
        raise DagDefinitionError(
            f"an asset condition ({where}) takes Asset, AssetAlias or conditions of them, "
            f"got {value!r:.80}"
        )
    return value


class Asset(AssetCondition):
    """A piece of data, named by its URI (``s3://bucket/key``, ``postgres://db/schema/table``,
    or any string without spaces). Two assets with one URI are the same asset.

    ``Asset(name="orders")`` alone (Airflow 3's form) uses the name as the URI.
    ``watchers`` (:class:`~headwater.authoring.asset_watchers.AssetWatcher`) are triggers
    whose events update the asset while a DAG scheduled on it is active and unpaused."""

    def __init__(
        self,
        uri: str | None = None,
        name: str | None = None,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        partitions: Partitions | None = None,
        *,
        access_control: AssetAccessControl | None = None,
        watchers: Sequence[AssetWatcher] | None = None,
    ) -> None:
        if uri is None:
            if name is None:
                raise DagDefinitionError("an asset needs a uri or a name, e.g. Asset('s3://b/k')")
            uri = name
        self.uri = _check_uri(uri)
        # Its events carry the partition key they updated (headwater.authoring.partitions).
        self.partitions = check_partitions(partitions, f"asset {uri!r}")
        self.name = uri if name is None else str(name)
        self.group = str(group)
        if extra is not None and not isinstance(extra, Mapping):
            raise DagDefinitionError(f"asset {uri!r}: extra must be a dict, got {extra!r:.80}")
        self.extra: dict[str, Any] = dict(extra or {})
        if access_control is not None and not isinstance(access_control, AssetAccessControl):
            raise DagDefinitionError(
                f"asset {uri!r}: access_control takes an AssetAccessControl, "
                f"got {access_control!r:.80}"
            )
        # Airflow's multi-team rules: kept, and ignored (headwater.authoring.asset_access).
        self.access_control = access_control
        self.watchers = check_watchers(watchers, uri)

    @staticmethod
    def ref(*, name: str | None = None, uri: str | None = None) -> AssetCondition:
        """An asset referred to by its name or URI, defined elsewhere (Airflow 3's):
        ``schedule=Asset.ref(name="orders")`` (:mod:`headwater.authoring.asset_refs`)."""
        from headwater.authoring.asset_refs import asset_ref

        return asset_ref(name=name, uri=uri)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("asset", self.uri))

    def __repr__(self) -> str:
        return f"Asset({self.uri!r})"

    def evaluate(self, updated: set[str]) -> bool:
        return self.uri in updated

    def iter_assets(self) -> Iterator[Asset]:
        yield self

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uri": self.uri,
            "name": self.name,
            "group": self.group,
            "extra": self.extra,
        }
        if self.partitions is not None:
            data["partitions"] = self.partitions.to_json()
        if self.watchers:  # absent when none: documents without watchers hash as before
            data["watchers"] = [w.to_json() for w in self.watchers]
        return {"asset": data}


Dataset = Asset
"""Airflow 2's name for :class:`Asset`."""


class AssetAlias(AssetCondition):
    """A name a task attaches assets to at run time, when it does not know them in advance:
    ``context["outlet_events"][alias].add(Asset(...), extra={...})``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or len(name) > MAX_URI_LENGTH:
            raise DagDefinitionError(
                f"asset alias name must be a non-empty string of at most {MAX_URI_LENGTH} "
                f"characters, got {name!r:.80}"
            )
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def __repr__(self) -> str:
        return f"AssetAlias({self.name!r})"

    def evaluate(self, updated: set[str]) -> bool:
        return self.name in updated

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())

    def iter_aliases(self) -> Iterator[AssetAlias]:
        yield self

    def to_json(self) -> dict[str, Any]:
        return {"alias": {"name": self.name}}


class _Group(AssetCondition):
    kind = ""

    def __init__(self, *objects: AssetCondition) -> None:
        if not objects:
            raise DagDefinitionError(f"{type(self).__name__} needs at least one asset")
        self.objects = [_check_condition(o, type(self).__name__) for o in objects]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.objects == self.objects

    def __hash__(self) -> int:
        return hash((self.kind, tuple(self.objects)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"

    def iter_assets(self) -> Iterator[Asset]:
        for obj in self.objects:
            yield from obj.iter_assets()

    def iter_aliases(self) -> Iterator[AssetAlias]:
        for obj in self.objects:
            yield from obj.iter_aliases()

    def iter_refs(self) -> Iterator[Any]:
        for obj in self.objects:
            yield from obj.iter_refs()

    def to_json(self) -> dict[str, Any]:
        return {self.kind: [o.to_json() for o in self.objects]}


class AssetAny(_Group):
    """Met when any of its parts is: ``a | b``."""

    kind = "any"

    def evaluate(self, updated: set[str]) -> bool:
        return any(o.evaluate(updated) for o in self.objects)

    def __or__(self, other: AssetCondition) -> AssetAny:
        return AssetAny(*self.objects, _check_condition(other, "|"))


class AssetAll(_Group):
    """Met when all its parts are: ``a & b``, or ``schedule=[a, b]``."""

    kind = "all"

    def evaluate(self, updated: set[str]) -> bool:
        return all(o.evaluate(updated) for o in self.objects)

    def __and__(self, other: AssetCondition) -> AssetAll:
        return AssetAll(*self.objects, _check_condition(other, "&"))


def condition_from_json(data: Any) -> AssetCondition:
    """The condition :meth:`AssetCondition.to_json` wrote."""
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ValueError(f"not an asset condition: {data!r:.80}")
    ((kind, value),) = data.items()
    if kind == "asset":
        return Asset(
            value["uri"],
            value.get("name"),
            value.get("group", "asset"),
            value.get("extra"),
            partitions_from_json(value.get("partitions")),
            watchers=[watcher_from_json(w) for w in value.get("watchers") or []],
        )
    if kind == "alias":
        return AssetAlias(value["name"])
    if kind in ("name_ref", "uri_ref"):
        from headwater.authoring.asset_refs import ref_from_json

        return ref_from_json(kind, value)
    if kind == "any":
        return AssetAny(*(condition_from_json(v) for v in value))
    if kind == "all":
        return AssetAll(*(condition_from_json(v) for v in value))
    raise ValueError(f"not an asset condition: {data!r:.80}")


def reference_from_json(data: Any) -> Asset | AssetAlias:
    """An outlet or inlet :meth:`to_json` wrote."""
    value = condition_from_json(data)
    if not isinstance(value, Asset | AssetAlias):
        raise ValueError(f"not an asset or alias: {data!r:.80}")
    return value


class AssetOrTimeSchedule:
    """Runs on a time schedule *and* whenever ``assets`` is met:
    ``AssetOrTimeSchedule(timetable="0 6 * * *", assets=a | b)``. ``timetable`` takes what
    ``DAG(schedule=...)`` takes for time (a cron string, a preset, a timedelta, a schedule)."""

    def __init__(self, *, timetable: Any, assets: AssetCondition | Sequence[Any]) -> None:
        self.timetable = timetable
        self.assets = _as_condition(assets)


def _as_condition(value: Any) -> AssetCondition:
    if isinstance(value, AssetCondition):
        return value
    if isinstance(value, list | tuple):
        if not value:
            raise InvalidScheduleError("an asset schedule needs at least one asset")
        return AssetAll(*(_check_condition(v, "schedule") for v in value))
    raise InvalidScheduleError(
        f"assets must be an Asset, an AssetAlias, a condition of them or a list, got {value!r:.80}"
    )


def split_schedule(value: Any, dag_id: str) -> tuple[Any, AssetCondition | None]:
    """``DAG(schedule=value)`` as (its time schedule, its asset condition).

    A list of assets is all of them; an asset condition alone means no time schedule (runs
    come from asset events only); an :class:`AssetOrTimeSchedule` has both. Anything else
    is a time schedule, left to :func:`~headwater.authoring.schedules.parse_schedule`.
    """
    try:
        if isinstance(value, AssetOrTimeSchedule):
            return value.timetable, value.assets
        if isinstance(value, AssetCondition) or (
            isinstance(value, list | tuple)
            and (not value or any(isinstance(v, AssetCondition) for v in value))
        ):
            return None, _as_condition(value)
    except DagDefinitionError as exc:
        raise InvalidScheduleError(f"DAG {dag_id!r}: schedule: {exc}") from None
    except InvalidScheduleError as exc:
        raise InvalidScheduleError(f"DAG {dag_id!r}: schedule: {exc}") from None
    return value, None


def check_asset_references(values: Iterable[Any] | None, field: str, task_id: str) -> list[Any]:
    """``outlets`` or ``inlets`` of a task: Assets and AssetAliases only (one may be given
    alone, as Airflow allows); an error names the task and the field."""
    if values is None:
        return []
    items = [values] if isinstance(values, Asset | AssetAlias) else list(values)
    for item in items:
        if not isinstance(item, Asset | AssetAlias):
            raise DagDefinitionError(
                f"task {task_id!r}: {field} takes Asset or AssetAlias objects, got {item!r:.80}"
            )
    return items


class Metadata:
    """Returned (or yielded in a list) by a task to attach ``extra`` to the event of one of
    its outlets: ``return Metadata(sales, {"rows": 12})``. ``alias`` records it through an
    alias instead (the asset need not be an outlet)."""

    def __init__(
        self, asset: Asset, extra: Mapping[str, Any], alias: AssetAlias | None = None
    ) -> None:
        if not isinstance(asset, Asset):
            raise DagDefinitionError(f"Metadata takes an Asset, got {asset!r:.80}")
        self.asset = asset
        self.extra = dict(extra)
        self.alias = alias


def asset(
    *,
    schedule: Any = None,
    uri: str | None = None,
    name: str | None = None,
    group: str = "asset",
    extra: Mapping[str, Any] | None = None,
    **dag_kwargs: Any,
) -> Callable[[Callable[..., Any]], Asset]:
    """Define an asset and the one-task DAG that materialises it (Airflow 3's ``@asset``)::

        @asset(schedule="@daily", uri="s3://bucket/prices.parquet")
        def prices(context): ...

    The DAG and its task are named after the function; the task's outlet is the asset (URI
    ``uri``, or the function's name). As in Airflow, the function takes ``self`` (the asset:
    ``outlet_events[self].extra[...]`` attaches metadata), ``context`` (the task context),
    and the assets it reads, by name (``def report(self, context, prices)``: ``prices`` is
    the ``@asset`` above, an inlet); see :mod:`headwater.authoring.asset_decorator`.
    Returns the :class:`Asset`, so other DAGs can be scheduled on it; the DAG is
    ``<asset>.dag``. Other keywords go to :class:`DAG`; with ``partitions`` the asset is
    partitioned the same way, and each run updates its own partition.
    """

    def wrap(function: Callable[..., Any]) -> Asset:
        from headwater.authoring.asset_decorator import asset_dag

        asset_name = name or function.__name__
        made = _AssetWithDag(
            uri or asset_name,
            name=asset_name,
            group=group,
            extra=extra,
            partitions=dag_kwargs.get("partitions"),  # a partitioned DAG's asset is too
        )
        made.dag = asset_dag(function, made, schedule, **dag_kwargs)
        return made

    return wrap


class _AssetWithDag(Asset):
    """The asset an ``@asset`` function defines, with the DAG that materialises it."""

    dag: DAG
