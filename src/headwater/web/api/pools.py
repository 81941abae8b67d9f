"""Pools: limits on concurrent task instances, with the slots running and queued
instances use. Every logged-in user reads them; changing them needs
:func:`~headwater.web.security.require_globals_write` (op or admin, not tag-limited)."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.services import pools
from headwater.services._schema import Page
from headwater.web.api.paging import Limit, Offset, page_of
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_globals_write

router = APIRouter(tags=["pools"])


@router.get("/pools")
def list_pools(
    ctx: Ctx, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> Page[pools.PoolUsage]:
    """Every pool by name, with its used (running + queued), running and queued slots."""
    found = pools.list_pools(ctx)
    return page_of(found, limit, offset)


@router.post("/pools", status_code=201)
def create_pool(ctx: Ctx, principal: CurrentPrincipal, body: pools.PoolIn) -> pools.PoolUsage:
    """Create a pool (409 when the name is taken)."""
    require_globals_write(principal, "change pools")
    return pools.create_pool(ctx, body)


@router.get("/pools/{name}")
def get_pool(ctx: Ctx, principal: CurrentPrincipal, name: str) -> pools.PoolUsage:
    return pools.get_pool(ctx, name)


@router.patch("/pools/{name}")
def update_pool(
    ctx: Ctx, principal: CurrentPrincipal, name: str, body: pools.PoolChange
) -> pools.PoolUsage:
    """Change a pool's slots or description; a field left out keeps its value."""
    require_globals_write(principal, "change pools")
    return pools.update_pool(ctx, name, body)


@router.delete("/pools/{name}")
def delete_pool(ctx: Ctx, principal: CurrentPrincipal, name: str) -> pools.PoolDeleted:
    """Delete a pool (409 for ``default_pool``, which tasks without a pool use)."""
    require_globals_write(principal, "change pools")
    return pools.delete_pool(ctx, name)
