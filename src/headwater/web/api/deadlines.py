"""Missed deadlines: the DAG-run deadlines and task SLAs that were missed, latest first.

Readable as runs are: a role limited to DAG tags sees the misses of its DAGs only, and an
unknown (or unseen) ``dag_id`` answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services._schema import Page
from headwater.services.deadlines import DeadlineOut, page_deadline_misses
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal

router = APIRouter(tags=["deadlines"])


@router.get("/deadline-misses", response_model=Page[DeadlineOut])
def get_deadline_misses(
    ctx: Ctx,
    principal: CurrentPrincipal,
    dag_id: Annotated[str | None, Query(max_length=250, description="Of this DAG only")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DeadlineOut]:
    """Missed deadlines and SLAs, the latest miss first: run, task, due and missed times,
    the reason, and the state of the callback."""
    return page_deadline_misses(ctx, principal=principal, dag_id=dag_id, limit=limit, offset=offset)
