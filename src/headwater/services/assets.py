"""Assets and their events, for ``headwater assets ...`` and ``/api/v1/assets``.

An asset is listed with the DAGs that produce it (tasks with it as an outlet), those
scheduled on it (consumers) and its last event. Events are listed newest first. An event
created from outside (``create_asset_event``) records who created it and triggers the DAGs
scheduled on its asset, exactly as a task's event does.

Example::

    page = list_assets(ctx, uri_pattern="s3://", limit=20)
    event = create_asset_event(ctx, AssetEventIn(uri="s3://b/x", extra={"rows": 3}),
                               created_by="alice")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from headwater.operations.errors import InvalidRequestError, NotFoundError
from headwater.services._schema import IsoDatetime, Page, Schema
from headwater.store.assets import (
    OUTLET,
    SCHEDULE,
    AssetEventFilter,
    AssetEventRow,
    AssetReference,
    AssetRow,
    UnknownAssetError,
)

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class AssetEventOut(Schema):
    """One update of an asset."""

    id: int
    asset_id: int
    uri: str
    timestamp: IsoDatetime
    extra: dict[str, Any]
    source_dag_id: str | None
    source_run_id: str | None
    source_task_id: str | None
    source_map_index: int | None
    source_alias: str | None
    """The asset alias the task added the event through."""
    partition_key: str | None
    created_by: str | None
    """Who created it from outside (a user, ``cli:<OS user>``); None for a task's event."""

    @classmethod
    def of(cls, row: AssetEventRow) -> AssetEventOut:
        from headwater.masking import redact

        return cls(
            id=row.id,
            asset_id=row.asset_id,
            uri=row.uri,
            timestamp=row.timestamp,
            extra=redact(row.extra),
            source_dag_id=row.source_dag_id,
            source_run_id=row.source_run_id,
            source_task_id=row.source_task_id,
            source_map_index=row.source_map_index,
            source_alias=row.source_alias,
            partition_key=row.partition_key,
            created_by=row.created_by,
        )


class TaskReferenceOut(Schema):
    dag_id: str
    task_id: str


class AssetOut(Schema):
    """An asset, who produces and consumes it, and its last event."""

    id: int
    uri: str
    name: str
    group: str
    extra: dict[str, Any]
    created_at: IsoDatetime
    updated_at: IsoDatetime
    producing_tasks: list[TaskReferenceOut]
    """Tasks that have it as an outlet."""
    consuming_dags: list[str]
    """DAGs scheduled on it."""
    last_event: AssetEventOut | None


class AssetEventIn(Schema):
    """An event to record from outside a task."""

    uri: str
    """The asset's URI (checked as in DAG files: an error names what is wrong)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    partition_key: str | None = None
    """The partition of a partitioned asset the event updated (``2024-01-31``, ``eu``):
    DAGs partitioned the same way run that partition only."""


def _asset_out(ctx: ServiceContext, row: AssetRow, refs: list[AssetReference]) -> AssetOut:
    last = ctx.store.list_asset_events(
        AssetEventFilter(asset_id=row.id), newest_first=True, limit=1
    )
    return AssetOut(
        id=row.id,
        uri=row.uri,
        name=row.name,
        group=row.group,
        extra=row.extra,
        created_at=row.created_at,
        updated_at=row.updated_at,
        producing_tasks=[
            TaskReferenceOut(dag_id=r.dag_id, task_id=r.task_id) for r in refs if r.kind == OUTLET
        ],
        consuming_dags=sorted({r.dag_id for r in refs if r.kind == SCHEDULE}),
        last_event=AssetEventOut.of(last[0]) if last else None,
    )


def list_assets(
    ctx: ServiceContext, *, uri_pattern: str | None = None, limit: int = 100, offset: int = 0
) -> Page[AssetOut]:
    """One page of assets by URI (``uri_pattern``: those whose URI contains it)."""
    rows = ctx.store.list_assets(uri_pattern=uri_pattern, limit=limit, offset=offset)
    refs: dict[str, list[AssetReference]] = {}
    for ref in ctx.store.list_dag_asset_references():
        refs.setdefault(ref.uri, []).append(ref)
    return Page[AssetOut](
        items=[_asset_out(ctx, row, refs.get(row.uri, [])) for row in rows],
        total=ctx.store.count_assets(uri_pattern=uri_pattern),
        limit=limit,
        offset=offset,
    )


def get_asset(ctx: ServiceContext, asset_id: int) -> AssetOut:
    row = ctx.store.get_asset(asset_id)
    if row is None:
        raise NotFoundError(f"no asset with id {asset_id}")
    return _asset_out(ctx, row, ctx.store.list_dag_asset_references(uri=row.uri))


def list_asset_events(
    ctx: ServiceContext,
    *,
    uri: str | None = None,
    asset_id: int | None = None,
    source_dag_id: str | None = None,
    source_run_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[AssetEventOut]:
    """One page of the events matching every filter given, newest first."""
    filters = AssetEventFilter(
        uri=uri, asset_id=asset_id, source_dag_id=source_dag_id, source_run_id=source_run_id
    )
    rows = ctx.store.list_asset_events(filters, newest_first=True, limit=limit, offset=offset)
    return Page[AssetEventOut](
        items=[AssetEventOut.of(row) for row in rows],
        total=ctx.store.count_asset_events(filters),
        limit=limit,
        offset=offset,
    )


def create_asset_event(
    ctx: ServiceContext, body: AssetEventIn, *, created_by: str | None, create: bool = False
) -> AssetEventOut:
    """Record an event of asset ``body.uri`` now, as ``created_by``; the DAGs scheduled on
    it run as for a task's event. An unknown asset is not found unless ``create``."""
    from headwater.authoring.assets import Asset
    from headwater.authoring.partitions import check_key_text
    from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError
    from headwater.store import recorded_asset_events
    from headwater.strict_json import InvalidJsonError, require_finite

    try:
        Asset(body.uri)  # the URI rules of DAG files
        require_finite(body.extra, "extra")
        if body.partition_key is not None:
            check_key_text(body.partition_key)
    except (DagDefinitionError, InvalidJsonError, InvalidPartitionKeyError) as exc:
        raise InvalidRequestError(str(exc)) from None
    try:
        row = recorded_asset_events.create_asset_event(
            ctx.store,
            body.uri,
            timestamp=ctx.now(),
            extra=body.extra,
            created_by=created_by,
            create=create,
            partition_key=body.partition_key,
        )
    except UnknownAssetError:
        raise NotFoundError(f"no asset with URI {body.uri!r}: no DAG names it") from None
    return AssetEventOut.of(row)
