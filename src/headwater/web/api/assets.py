"""Assets and their events. Every logged-in user reads them; creating an event (which
triggers the DAGs scheduled on its asset, whatever their tags) needs
:func:`~headwater.web.security.require_globals_write` (op or admin, not tag-limited), and
the event records who created it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from headwater.services import assets
from headwater.services._schema import Page
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


@router.get("/assets/{asset_id}")
def get_asset(ctx: Ctx, principal: CurrentPrincipal, asset_id: AssetId) -> assets.AssetOut:
    return assets.get_asset(ctx, asset_id)
