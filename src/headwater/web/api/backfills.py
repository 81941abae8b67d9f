"""Backfills: create (or dry-run), list, show, cancel.

Reads need a role that sees the backfill's DAG (a backfill of a DAG outside a tag-limited
role's tags is not found, as the DAG is not); creating and cancelling need the op level
on that DAG. Every rule is in :mod:`headwater.services.backfills` and the operations.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from headwater.services._schema import Page
from headwater.services.backfills import (
    BackfillCancelled,
    BackfillCreate,
    BackfillDetailOut,
    BackfillOut,
    BackfillPlanOut,
    BackfillResult,
    backfill_dag_id,
    cancel_backfill,
    get_backfill,
    list_backfills,
    plan_backfill,
    run_backfill,
)
from headwater.services.dag_catalog import MAX_LIMIT
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_dag_operate, require_dag_read

router = APIRouter(tags=["backfills"])

BackfillId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The backfill's id.")]
"""Ids are 32-bit integers on every database: a larger one is a 422, not a driver error."""


@router.get("/backfills", summary="List backfills")
def list_all(
    ctx: Ctx,
    principal: CurrentPrincipal,
    dag_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[BackfillOut]:
    """Backfills, newest first, with their progress; only those of DAGs the role sees."""
    if dag_id is not None:
        require_dag_read(ctx, principal, dag_id)
    return list_backfills(
        ctx, dag_id=dag_id, limit=limit, offset=offset, can_read=principal.can_read_dag
    )


@router.post("/backfills", status_code=201, summary="Create a backfill, or plan one")
def create(
    body: BackfillCreate, ctx: Ctx, principal: CurrentPrincipal, response: Response
) -> BackfillResult | BackfillPlanOut:
    """Start a backfill (201), or with ``dry_run`` answer its plan and change nothing (200):
    each logical date with ``create``, ``rerun`` or ``skip`` and why."""
    require_dag_operate(ctx, principal, body.dag_id, "backfill DAGs")
    if body.dry_run:
        response.status_code = 200
        return plan_backfill(ctx, body.dag_id, body)
    return run_backfill(ctx, body.dag_id, body, created_by=principal.username)


@router.get("/backfills/{backfill_id}", summary="Show a backfill")
def detail(
    backfill_id: BackfillId,
    ctx: Ctx,
    principal: CurrentPrincipal,
    limit: Limit = MAX_LIMIT,
    offset: Offset = 0,
) -> BackfillDetailOut:
    """One backfill with its runs and their states, oldest first: ``limit`` runs (default
    and at most 1000) from ``offset``; ``total_runs`` counts them all."""
    return get_backfill(
        ctx, backfill_id, can_read=principal.can_read_dag, limit=limit, offset=offset
    )


@router.post("/backfills/{backfill_id}/cancel", summary="Cancel a backfill")
def cancel(backfill_id: BackfillId, ctx: Ctx, principal: CurrentPrincipal) -> BackfillCancelled:
    """Cancel a backfill: its queued runs end failed without starting, its running runs
    finish; 409 if it was cancelled already."""
    dag_id = backfill_dag_id(ctx, backfill_id, can_read=principal.can_read_dag)
    require_dag_operate(ctx, principal, dag_id, "cancel backfills")
    return cancel_backfill(ctx, backfill_id, cancelled_by=principal.username)
