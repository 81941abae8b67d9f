"""Variables. Every logged-in user reads them; the value of a key that looks secret
(``db_password``, ``api_token``) is always ``***`` in an answer, whoever asks. Changing
them needs :func:`~headwater.web.security.require_globals_write`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services import variables
from headwater.services._schema import Page
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_globals_write

router = APIRouter(tags=["variables"])

Search = Annotated[
    str | None, Query(max_length=250, description="Text the key or description holds.")
]


@router.get("/variables")
def list_variables(
    ctx: Ctx,
    principal: CurrentPrincipal,
    search: Search = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[variables.VariableOut]:
    """Variables by key (values of secret-looking keys masked)."""
    return variables.page_variables(ctx, search=search, limit=limit, offset=offset)


@router.post("/variables", status_code=201)
def create_variable(
    ctx: Ctx, principal: CurrentPrincipal, body: variables.VariableIn
) -> variables.VariableOut:
    """Create a variable (409 when the key is taken)."""
    require_globals_write(principal, "change variables")
    return variables.create_variable(ctx, body)


@router.get("/variables/{key}")
def get_variable(ctx: Ctx, principal: CurrentPrincipal, key: str) -> variables.VariableOut:
    return variables.describe_variable(ctx, key)


@router.patch("/variables/{key}")
def update_variable(
    ctx: Ctx, principal: CurrentPrincipal, key: str, body: variables.VariableChange
) -> variables.VariableOut:
    """Change a variable's value or description; a field left out keeps its value, and so
    does a value of ``***`` for a secret-looking key."""
    require_globals_write(principal, "change variables")
    return variables.update_variable(ctx, key, body)


@router.delete("/variables/{key}")
def delete_variable(ctx: Ctx, principal: CurrentPrincipal, key: str) -> variables.VariableDeleted:
    require_globals_write(principal, "change variables")
    return variables.delete_variable(ctx, key)
