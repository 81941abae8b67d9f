"""Connections. Every logged-in user reads them, never a secret: the password is ``***``
when set and secret-looking ``extra`` values are masked. Changing or testing them needs
:func:`~headwater.web.security.require_globals_write`."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.services import connections
from headwater.services._schema import Page
from headwater.web.api.paging import Limit, Offset, page_of
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_globals_write

router = APIRouter(tags=["connections"])


@router.get("/connections")
def list_connections(
    ctx: Ctx, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> Page[connections.ConnectionOut]:
    """Connections by id, secrets masked."""
    found = connections.list_connections(ctx)
    return page_of(found, limit, offset)


@router.post("/connections", status_code=201)
def create_connection(
    ctx: Ctx, principal: CurrentPrincipal, body: connections.ConnectionCreate
) -> connections.ConnectionOut:
    """Add a connection (409 when the id is taken; 400 for an unknown type)."""
    require_globals_write(principal, "change connections")
    return connections.add_connection(ctx, body)


@router.get("/connections/{conn_id}")
def get_connection(
    ctx: Ctx, principal: CurrentPrincipal, conn_id: str
) -> connections.ConnectionOut:
    return connections.get_connection(ctx, conn_id)


@router.patch("/connections/{conn_id}")
def update_connection(
    ctx: Ctx, principal: CurrentPrincipal, conn_id: str, body: connections.ConnectionChange
) -> connections.ConnectionOut:
    """Change the fields sent; ``***`` for the password or a secret ``extra`` value keeps
    the stored secret."""
    require_globals_write(principal, "change connections")
    return connections.update_connection(ctx, conn_id, body)


@router.delete("/connections/{conn_id}")
def delete_connection(
    ctx: Ctx, principal: CurrentPrincipal, conn_id: str
) -> connections.ConnectionDeleted:
    require_globals_write(principal, "change connections")
    return connections.delete_connection(ctx, conn_id)


@router.post("/connections/{conn_id}/test")
def test_connection(
    ctx: Ctx, principal: CurrentPrincipal, conn_id: str
) -> connections.ConnectionTested:
    """Ask the hook of the connection's type to reach its system: ``ok`` and its message
    (secrets masked). 400 when no hook can test that type."""
    require_globals_write(principal, "test connections")
    return connections.test_connection(ctx, conn_id)
