"""The tables of data-aware scheduling (migration 0008): triggers, assets and their events.

They live beside :mod:`headwater.db.models` on the same declarative ``Base``, like
:mod:`headwater.db.backfill_models`; importing :mod:`headwater.db.migrate` registers them.

Relations::

    dag_runs (dag_id, run_id) ◀─┬─ triggers (id; the deferred attempt's key)   ON DELETE CASCADE
                                └─ dag_run_asset_events (…, event_id)     the events a run consumed
    assets (id, uri) ◀─┬─ asset_events (id)            the global order of events is their id
                       ├─ asset_alias_assets ─▶ asset_aliases (id, name) ◀─ dag_alias_references
                       │  (assets.name ◀ dag_asset_name_references (dag_id, name): no key)
                       ├─ dag_asset_references (dag_id, asset_id, kind, task_id)
                       └─ asset_dag_run_queue (dag_id, event_id)  events not yet consumed by a DAG
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.models import ID_LENGTH, Base

URI_LENGTH = 1500
"""Longest asset URI or name, and asset alias name."""


def _run_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_runs.dag_id", "dag_runs.run_id"], ondelete="CASCADE"
    )


def _asset_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["asset_id"], ["assets.id"], ondelete="CASCADE")


class TriggerModel(Base):
    """What one deferred attempt waits on: a serialized trigger, run by a triggerer.

    A trigger is created with the recorded outcome of the attempt that deferred (one per
    attempt), claimed by one triggerer at a time (``triggerer_id`` while
    ``claim_expires_at`` is ahead), and fired once: ``state`` goes from ``waiting`` to
    ``fired`` (with ``event``) or ``failed`` (with ``error``) by compare-and-set. The
    scheduler resumes the instance from it and deletes the row.
    """

    __tablename__ = "triggers"
    __table_args__ = (
        _run_fk(),
        UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "try_number"),
        Index("ix_triggers_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    classpath: Mapped[str] = mapped_column(Text)
    kwargs: Mapped[dict[str, Any]]
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(Integer)
    try_number: Mapped[int] = mapped_column(Integer)
    """The try that deferred."""
    created_at: Mapped[datetime]
    timeout_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20))
    """'waiting', 'fired' or 'failed'."""
    triggerer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    claim_expires_at: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]
    event: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """``{"payload": ...}`` of the event that fired it."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why it failed (the trigger raised, or could not be built)."""


class AssetWatcherClaimModel(Base):
    """Which triggerer runs an asset watcher (migration 0013): held by ``triggerer_id``
    while ``claim_expires_at`` is ahead, renewed by its heartbeat, taken over once it ran
    out. One row per asset URI and watcher name."""

    __tablename__ = "asset_watcher_claims"

    uri: Mapped[str] = mapped_column(String(URI_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    triggerer_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    claim_expires_at: Mapped[datetime]


class AssetModel(Base):
    """A piece of data pipelines produce and consume, named by its URI."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uri: Mapped[str] = mapped_column(String(URI_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(URI_LENGTH))
    group_name: Mapped[str] = mapped_column(String(ID_LENGTH))
    extra: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AssetAliasModel(Base):
    """A name tasks attach assets to at run time (``AssetAlias``)."""

    __tablename__ = "asset_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(URI_LENGTH), unique=True)


class AssetAliasAssetModel(Base):
    """An asset some event attached to an alias."""

    __tablename__ = "asset_alias_assets"
    __table_args__ = (
        ForeignKeyConstraint(["alias_id"], ["asset_aliases.id"], ondelete="CASCADE"),
        _asset_fk(),
    )

    alias_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class AssetEventModel(Base):
    """One update of an asset: by a task's successful attempt, or from outside (CLI, API)."""

    __tablename__ = "asset_events"
    __table_args__ = (_asset_fk(), Index("ix_asset_events_asset_id_id", "asset_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime]
    extra: Mapped[dict[str, Any]]
    partition_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_map_index: Mapped[int | None] = mapped_column(Integer)
    source_alias: Mapped[str | None] = mapped_column(String(URI_LENGTH))
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """Who recorded an event from outside (a user, ``cli:<OS user>``); null for a task's."""


class DagAssetReferenceModel(Base):
    """How a DAG uses an asset, as its DAG processor last parsed it: ``schedule`` (the DAG
    is scheduled on it), ``outlet`` or ``inlet`` (of task ``task_id``; ``""`` for schedule)."""

    __tablename__ = "dag_asset_references"
    __table_args__ = (_asset_fk(), Index("ix_dag_asset_references_asset_id", "asset_id"))

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class DagAliasReferenceModel(Base):
    """A DAG scheduled on an asset alias: the events recorded through the alias are queued
    for it (``schedule=AssetAlias(...)``)."""

    __tablename__ = "dag_alias_references"
    __table_args__ = (ForeignKeyConstraint(["alias_id"], ["asset_aliases.id"], ondelete="CASCADE"),)

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    alias_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class DagAssetNameReferenceModel(Base):
    """A DAG scheduled on an asset by its name (``Asset.ref(name=...)``, migration 0012):
    the events of the asset bearing that name when they happen are queued for it."""

    __tablename__ = "dag_asset_name_references"
    __table_args__ = (Index("ix_dag_asset_name_references_name", "name"),)

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(URI_LENGTH), primary_key=True)


class AssetDagRunQueueModel(Base):
    """An asset event a DAG scheduled on its asset has not consumed yet. Queued in the
    transaction that records the event; deleted in the one that creates the run it
    triggers, so an event triggers a run once, whatever crashes."""

    __tablename__ = "asset_dag_run_queue"
    __table_args__ = (
        ForeignKeyConstraint(["event_id"], ["asset_events.id"], ondelete="CASCADE"),
        _asset_fk(),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer)
    partition_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime]


class DagRunAssetEventModel(Base):
    """An asset event that triggered a run (``triggering_asset_events`` of its context)."""

    __tablename__ = "dag_run_asset_events"
    __table_args__ = (_run_fk(),)

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
