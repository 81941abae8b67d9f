"""DAGs: list, detail and structure, pause, source.

The list and its total hold only the DAGs the caller's role sees; any route under a DAG the
role does not see answers 404, as for a DAG that does not exist. Triggering a run is
``POST /dags/{dag_id}/runs`` (:mod:`headwater.web.api.runs`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.auth.principals import Principal
from headwater.services._schema import Page, Schema
from headwater.services.context import ServiceContext
from headwater.services.dag_catalog import (
    DagFilters,
    DagListItem,
    dag_tags,
    list_dags,
)
from headwater.services.dag_details import DagDetail, DagSource, get_dag_detail, get_dag_source
from headwater.services.dags import DagPaused, set_paused
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import (
    CurrentPrincipal,
    require_dag_operate,
    require_dag_read,
    visible_dag_ids,
)

router = APIRouter(tags=["dags"])


class DagPatch(Schema):
    is_paused: bool
    """True pauses the DAG (no new scheduled runs), False unpauses it."""


def visible_to(ctx: ServiceContext, principal: Principal) -> set[str] | None:
    """The DAG ids ``principal`` sees, or None for a role that sees every DAG (which spares
    the list a read)."""
    if principal.dag_tags is None:
        return None
    return visible_dag_ids(principal, dag_tags(ctx))


@router.get("/dags", response_model=Page[DagListItem])
def get_dags(
    ctx: Ctx,
    principal: CurrentPrincipal,
    tags: Annotated[list[str] | None, Query(description="Keep DAGs with any of these.")] = None,
    paused: bool | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    has_import_error: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DagListItem]:
    """The DAGs the caller sees, by id, with their latest runs and schedule in words."""
    visible = visible_to(ctx, principal)
    filters = DagFilters(tags=tags, paused=paused, search=search, has_import_error=has_import_error)
    return list_dags(ctx, filters, visible=visible, limit=limit, offset=offset)


@router.get("/dags/{dag_id}", response_model=DagDetail)
def get_dag(dag_id: str, ctx: Ctx, principal: CurrentPrincipal) -> DagDetail:
    """One DAG with its tasks, task groups, edges, params schema and docs."""
    require_dag_read(ctx, principal, dag_id)
    return get_dag_detail(ctx, dag_id)


@router.patch("/dags/{dag_id}", response_model=DagPaused)
def patch_dag(dag_id: str, patch: DagPatch, ctx: Ctx, principal: CurrentPrincipal) -> DagPaused:
    """Pause or unpause a DAG (op level)."""
    require_dag_operate(ctx, principal, dag_id, "pause or unpause DAGs")
    return set_paused(ctx, dag_id, patch.is_paused)


@router.get("/dags/{dag_id}/source", response_model=DagSource)
def get_source(dag_id: str, ctx: Ctx, principal: CurrentPrincipal) -> DagSource:
    """The text of the DAG's file."""
    require_dag_read(ctx, principal, dag_id)
    return get_dag_source(ctx, dag_id)
