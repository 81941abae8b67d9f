"""The assets pages: ``/assets`` lists every asset with the tasks producing it, the DAGs
scheduled on it and its last event; ``/assets/graph`` draws them with the DAGs that produce
and consume them (:mod:`headwater.services.asset_graph`, DAGs the user may not see left
out); ``/assets/{id}`` shows one asset and its events, newest first. They read through the
services the API uses; every logged-in user sees them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services import asset_graph, assets
from headwater.web.api.dags import visible_to
from headwater.web.context import Ctx
from headwater.web.ui.admin import pager
from headwater.web.ui.charts import svg_path
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


@router.get("/assets", response_class=HTMLResponse)
def assets_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    uri: Annotated[str | None, Query(max_length=1500)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    page = assets.list_assets(ctx, uri_pattern=uri or None, limit=PAGE_SIZE, offset=offset)
    return render(
        request,
        "assets_list.html",
        principal,
        {"page": page, "pager": pager(request, page), "uri": uri or ""},
    )


@router.get("/assets/graph", response_class=HTMLResponse)
def asset_graph_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    asset: Annotated[str | None, Query(max_length=1500)] = None,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=asset_graph.MAX_LIMIT)] = asset_graph.DEFAULT_LIMIT,
) -> HTMLResponse:
    """The assets graph: producing DAG → asset → consuming DAG, filtered by an asset URI or
    name prefix (``asset``) or to one DAG's neighbours (``dag_id``); clicking a node opens
    the asset's page or the DAG's grid."""
    graph = asset_graph.asset_graph(
        ctx,
        visible=visible_to(ctx, principal),
        asset_prefix=asset or None,
        dag_id=dag_id or None,
        limit=limit,
    )
    context = {"graph": graph, "asset": asset or "", "dag_id": dag_id or "", "path_of": svg_path}
    return render(request, "assets_graph.html", principal, context)


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    offset: Offset = 0,
) -> HTMLResponse:
    shown = assets.get_asset(ctx, asset_id)
    page = assets.list_asset_events(ctx, asset_id=asset_id, limit=PAGE_SIZE, offset=offset)
    return render(
        request,
        "assets_detail.html",
        principal,
        {"asset": shown, "page": page, "pager": pager(request, page)},
    )
