"""The assets pages: ``/assets`` lists every asset with the tasks producing it, the DAGs
scheduled on it and its last event; ``/assets/{id}`` shows one asset and its events, newest
first. Both read through :mod:`headwater.services.assets`, as the API does; every logged-in
user sees them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services import assets
from headwater.web.context import Ctx
from headwater.web.ui.admin import pager
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
