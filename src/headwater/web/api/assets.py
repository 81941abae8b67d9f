"""Assets and their events. Every logged-in user reads them; creating an event (which
triggers the DAGs scheduled on its asset, whatever their tags) needs
:func:`~headwater.web.security.require_globals_write` (op or admin, not tag-limited), and
the event records who created it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from headwater.services import asset_graph, assets
from headwater.services._schema import Page
from headwater.web.api.dags import visible_to
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_globals_write

router = APIRouter(tags=["assets"])

Filter = Annotated[str | None, Query(max_length=1500)]
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The asset's id.")]


@router.get("/assets")
def list_assets(
    ctx: Ctx,
    principal: CurrentPrincipal,
    uri_pattern: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[assets.AssetOut]:
    """Assets by URI (``uri_pattern``: those whose URI contains it), with the tasks that
    produce them, the DAGs scheduled on them and their last event."""
    return assets.list_assets(ctx, uri_pattern=uri_pattern, limit=limit, offset=offset)


@router.get("/assets/events")
def list_asset_events(
    ctx: Ctx,
    principal: CurrentPrincipal,
    uri: Filter = None,
    asset_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    source_dag_id: Filter = None,
    source_run_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[assets.AssetEventOut]:
    """Asset events matching every filter given, newest first."""
    return assets.list_asset_events(
        ctx,
        uri=uri,
        asset_id=asset_id,
        source_dag_id=source_dag_id,
        source_run_id=source_run_id,
        limit=limit,
        offset=offset,
    )


@router.post("/assets/events", status_code=201)
def create_asset_event(
    ctx: Ctx, principal: CurrentPrincipal, body: assets.AssetEventIn
) -> assets.AssetEventOut:
    """Record an event of a known asset now (404 for an unknown URI), as this user."""
    require_globals_write(principal, "create asset events")
    return assets.create_asset_event(ctx, body, created_by=principal.username)


@router.get("/assets/graph")
def get_asset_graph(
    ctx: Ctx,
    principal: CurrentPrincipal,
    asset_prefix: Annotated[str | None, Query(max_length=1500)] = None,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=asset_graph.MAX_LIMIT)] = asset_graph.DEFAULT_LIMIT,
) -> asset_graph.AssetGraph:
    """The assets graph, laid out: producing DAG → asset → consuming DAG (and DAGs reading
    it), for the assets whose URI or name starts with ``asset_prefix``, or around DAG
    ``dag_id``; at most ``limit`` nodes (``truncated`` says when cut). DAGs the caller may
    not see are left out."""
    return asset_graph.asset_graph(
        ctx,
        visible=visible_to(ctx, principal),
        asset_prefix=asset_prefix,
        dag_id=dag_id,
        limit=limit,
    )


@router.get("/assets/{asset_id}")
def get_asset(ctx: Ctx, principal: CurrentPrincipal, asset_id: AssetId) -> assets.AssetOut:
    return assets.get_asset(ctx, asset_id)
