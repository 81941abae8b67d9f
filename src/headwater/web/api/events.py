"""The event log: who did what, when, newest first. A role limited to DAG tags sees the
events of its DAGs only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services import events
from headwater.services._schema import Page
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal

router = APIRouter(tags=["events"])

Filter = Annotated[str | None, Query(max_length=250)]


@router.get("/events")
def list_events(
    ctx: Ctx,
    principal: CurrentPrincipal,
    dag_id: Filter = None,
    kind: Filter = None,
    actor: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[events.EventOut]:
    """Events matching every filter given, newest first."""
    return events.list_events(
        ctx,
        principal=principal,
        dag_id=dag_id,
        kind=kind,
        actor=actor,
        limit=limit,
        offset=offset,
    )
