"""The home page: the DAG list (recent runs as coloured dots, next run, schedule in words,
tags as filters, search, pause toggles, a pager) and the import errors.

``GET /?fragment=list`` answers the list alone (the same template), which the page asks for
again every few seconds (``data-live-url``) so the dots follow the runs as they progress.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services.dag_catalog import DagFilters, list_dags
from headwater.services.import_errors import page_import_errors
from headwater.web.api.dags import visible_to
from headwater.web.context import Ctx
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
LIVE_INTERVAL_MS = 5000


@router.get("/", response_class=HTMLResponse)
def dag_list_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    tags: Annotated[list[str] | None, Query()] = None,
    paused: str = "",
    search: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    fragment: str = "",
) -> HTMLResponse:
    """The DAGs the user's role sees, filtered, a page of them."""
    chosen_tags = [tag for tag in tags or [] if tag]
    filters = DagFilters(
        tags=chosen_tags or None,
        paused={"true": True, "false": False}.get(paused),
        search=search.strip() or None,
    )
    visible = visible_to(ctx, principal)
    page = list_dags(ctx, filters, visible=visible, limit=PAGE_SIZE, offset=offset)
    query = {"tags": chosen_tags, "paused": paused, "search": search}

    def url(**changes: object) -> str:
        """This list's URL with ``changes`` to its query (None drops a key)."""
        merged = {**query, **changes}
        kept = {k: v for k, v in merged.items() if v not in (None, "", [], 0)}
        encoded = urlencode(kept, doseq=True)
        return f"/?{encoded}" if encoded else "/"

    context = {
        "page": page,
        "filters": query,
        "url": url,
        "live_url": url(offset=offset or None, fragment="list"),
        "live_interval": LIVE_INTERVAL_MS,
        "can_operate": {item.dag_id: principal.can_operate_dag(item.tags) for item in page.items},
    }
    if fragment == "list":
        return render(request, "dags_home_list.html", principal, context)
    context["import_error_files"] = page_import_errors(ctx, limit=1).files
    return render(request, "dags_home.html", principal, context)


@router.get("/import-errors", response_class=HTMLResponse)
def import_errors_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The DAG files that failed to import: file, line, message, and the traceback."""
    page = page_import_errors(ctx, limit=100, offset=offset)
    return render(request, "dags_import_errors.html", principal, {"page": page})
