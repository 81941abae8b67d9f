"""The asset port: assets, aliases, asset events, and the queue of events each DAG
scheduled on assets has not consumed yet (see ``docs/data-aware.md``).

An event's life, each step one committed transaction:

1. **recorded**: by a successful attempt, with its outcome (``record_attempt_outcome`` with
   ``outcome.outlet_events``: a stale outcome records none), or from outside
   (:meth:`AssetStore.create_asset_event`, with ``created_by``). Either way it is **queued**
   for every DAG scheduled on its asset, or on the alias it came through
   (``asset_dag_run_queue``), in the same transaction;
2. **consumed** by the scheduler when a DAG's condition is met: the queue rows go, and the
   run it creates remembers them (``dag_run_asset_events``), in the unit of work that creates
   the run (:meth:`AssetStore.consume_queued_asset_events`). So an event triggers a DAG once,
   whatever crashes.

The DAG processor keeps :meth:`AssetStore.set_dag_asset_references` up to date: which DAGs
are scheduled on, produce and read each asset (it registers the assets it names).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEDULE = "schedule"
SCHEDULE_ALIAS = "schedule_alias"
SCHEDULE_NAME = "schedule_name"
OUTLET = "outlet"
INLET = "inlet"
REFERENCE_KINDS = (SCHEDULE, SCHEDULE_ALIAS, SCHEDULE_NAME, OUTLET, INLET)


@dataclass(frozen=True)
class AssetSpec:
    """An asset as a DAG names it (what :class:`headwater.Asset` holds)."""

    uri: str
    name: str | None = None
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssetReference:
    """How DAG ``dag_id`` uses asset ``uri``: ``schedule``, ``outlet`` or ``inlet`` (of task
    ``task_id``; ``""`` for schedule); or ``schedule_alias``: the DAG is scheduled on the
    asset alias named ``uri`` (the events recorded through it are queued for the DAG); or
    ``schedule_name``: on the asset whose name is ``uri`` (``Asset.ref(name=...)``: the
    events of the asset bearing that name when they happen are queued for the DAG). Listed,
    a name reference to an existing asset reads as a ``schedule`` one of its URI."""

    dag_id: str
    uri: str
    kind: str
    task_id: str = ""


@dataclass(frozen=True)
class AssetRow:
    """One stored asset."""

    id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AssetEventRow:
    """One stored update of an asset. ``source_*`` name the attempt that emitted it;
    ``created_by`` who recorded it from outside; ``source_alias`` the alias it came through."""

    id: int
    asset_id: int
    uri: str
    timestamp: datetime
    extra: dict[str, Any]
    partition_key: str | None = None
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_task_id: str | None = None
    source_map_index: int | None = None
    source_alias: str | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class QueuedAssetEvent:
    """An event DAG ``dag_id`` has not consumed yet."""

    dag_id: str
    event_id: int
    asset_id: int
    uri: str
    timestamp: datetime
    """When the event happened (its ``timestamp``)."""
    alias: str | None = None
    partition_key: str | None = None
    """The partition the event updated (partitioned assets)."""
    name: str | None = None
    """The name of the event's asset (a DAG may be scheduled on it by name)."""


@dataclass(frozen=True)
class AssetEventFilter:
    """Which events to list: each field set narrows the list."""

    uri: str | None = None
    asset_id: int | None = None
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_task_id: str | None = None
    after: datetime | None = None
    """Only events with ``timestamp >= after``."""
    before: datetime | None = None
    """Only events with ``timestamp < before``."""


class UnknownAssetError(KeyError):
    """An event names an asset that is not registered (and was not to be created)."""

    def __str__(self) -> str:
        return f"no asset with URI {self.args[0]!r}"


class AssetStore(ABC):
    """Assets and their events."""

    @abstractmethod
    def register_assets(self, assets: Iterable[AssetSpec], now: datetime) -> None:
        """Store each asset that is new, and update the name, group and extra of those that
        exist (by URI)."""

    @abstractmethod
    def set_dag_asset_references(
        self,
        dag_id: str,
        assets: Sequence[AssetSpec],
        references: Iterable[AssetReference],
        now: datetime,
    ) -> None:
        """Replace how DAG ``dag_id`` uses assets (``references``, all of them ``dag_id``'s),
        registering ``assets`` (those the references name) first, in one transaction."""

    @abstractmethod
    def get_asset(self, asset_id: int) -> AssetRow | None: ...

    @abstractmethod
    def get_asset_by_uri(self, uri: str) -> AssetRow | None: ...

    @abstractmethod
    def list_assets(
        self, *, uri_pattern: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[AssetRow]:
        """Assets by URI; ``uri_pattern`` keeps those whose URI contains it."""

    @abstractmethod
    def count_assets(self, *, uri_pattern: str | None = None) -> int: ...

    @abstractmethod
    def list_dag_asset_references(
        self, *, dag_id: str | None = None, uri: str | None = None
    ) -> list[AssetReference]:
        """References, by DAG, URI, kind and task."""

    @abstractmethod
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
        """Record an event from outside a task (CLI, API) and queue it for the DAGs
        scheduled on its asset. An unknown asset raises :class:`UnknownAssetError` unless
        ``create`` (then it is registered)."""

    @abstractmethod
    def list_asset_events(
        self,
        filters: AssetEventFilter | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[AssetEventRow]:
        """Events in the order they were recorded (their id), or newest first."""

    @abstractmethod
    def count_asset_events(self, filters: AssetEventFilter | None = None) -> int:
        """How many asset events are stored (that ``filters`` keeps)."""

    @abstractmethod
    def queued_asset_events(self, dag_id: str | None = None) -> list[QueuedAssetEvent]:
        """The events each DAG has not consumed yet (of ``dag_id``, or all), by DAG then
        event id."""

    @abstractmethod
    def consume_queued_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> int:
        """Take events ``event_ids`` off ``dag_id``'s queue and record them as the events
        that triggered run ``run_id`` (which must exist: call it in the unit of work that
        creates the run). Returns how many were queued; an event no longer queued (consumed
        by another scheduler) is not recorded again."""

    @abstractmethod
    def record_triggering_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> None:
        """Record events ``event_ids`` as events that triggered run ``run_id`` too, without
        touching the queue: a fan-out event, consumed by one of the runs it triggers in the
        same unit of work. An event recorded already, or that does not exist, is skipped."""

    @abstractmethod
    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[AssetEventRow]:
        """The events that triggered run ``run_id``, by id."""
