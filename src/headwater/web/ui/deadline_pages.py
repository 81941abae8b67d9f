"""The missed-deadlines page: ``/deadlines`` lists the DAG-run deadlines and task SLAs that
were missed, the latest first (optionally of one DAG: ``?dag_id=``), with the run, the task,
when each was due and missed, why, and its callback's state. It reads through the service
the API uses (:mod:`headwater.services.deadlines`); a role sees the misses of the DAGs it
sees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services import deadlines
from headwater.web.context import Ctx
from headwater.web.ui.admin import pager
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> HTMLResponse:
    page = deadlines.page_deadline_misses(
        ctx, principal=principal, dag_id=dag_id or None, limit=PAGE_SIZE, offset=offset
    )
    return render(
        request,
        "deadlines_list.html",
        principal,
        {"page": page, "pager": pager(request, page), "dag_id": dag_id or ""},
    )
