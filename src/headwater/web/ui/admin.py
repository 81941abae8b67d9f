"""Admin pages: variables, connections, pools and the event log (users and tokens are in
:mod:`headwater.web.ui.admin_accounts`).

The pages read through the same services as the API, so they show exactly what the API
answers: secret variables and connection secrets masked. They change nothing themselves:
their forms and buttons call the API (``data-api-form``, ``data-api-action`` of
``app.js``), which checks the role again. A user who may not change these global
resources (a viewer, or a role limited to DAG tags) sees no buttons that would.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.auth.principals import Principal
from headwater.services import connections, events, pools, variables
from headwater.services._schema import Page
from headwater.web.context import Ctx
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Rows per page of the admin lists."""

Offset = Annotated[int, Query(ge=0)]
Text = Annotated[str | None, Query(max_length=250)]


def pager(request: Request, page: Page[Any]) -> dict[str, Any]:
    """The pager's context: which rows are shown, and the links to the pages around."""

    def at(offset: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "offset" and v}
        if offset:
            query["offset"] = str(offset)
        return request.url.path + (f"?{urlencode(query)}" if query else "")

    first = page.offset + 1 if page.items else 0
    last = page.offset + len(page.items)
    return {
        "first": first,
        "last": last,
        "total": page.total,
        "previous": at(max(page.offset - page.limit, 0)) if page.offset > 0 else None,
        "next": at(page.offset + page.limit) if last < page.total else None,
    }


def _common(principal: Principal) -> dict[str, Any]:
    return {"can_write": principal.can_manage_globals}


@router.get("/admin/variables", response_class=HTMLResponse)
def variables_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    search: Text = None,
    offset: Offset = 0,
) -> HTMLResponse:
    page = variables.page_variables(ctx, search=search, limit=PAGE_SIZE, offset=offset)
    return render(
        request,
        "admin_variables.html",
        principal,
        {**_common(principal), "page": page, "pager": pager(request, page), "search": search},
    )


@router.get("/admin/connections", response_class=HTMLResponse)
def connections_page(request: Request, ctx: Ctx, principal: PagePrincipal) -> HTMLResponse:
    shown = connections.list_connections(ctx)
    rows = [
        {
            "conn": conn,
            "extra_text": json.dumps(conn.extra, sort_keys=True) if conn.extra else "",
            "fill": {
                "conn_id": conn.conn_id,
                "conn_type": conn.conn_type,
                "description": conn.description or "",
                "host": conn.host or "",
                "port": conn.port,
                "schema": conn.schema_ or "",
                "login": conn.login or "",
                "password": conn.password or "",
                "extra": json.dumps(conn.extra, indent=2) if conn.extra else "",
            },
        }
        for conn in shown
    ]
    return render(
        request,
        "admin_connections.html",
        principal,
        {**_common(principal), "rows": rows, "conn_types": connections.connection_types()},
    )


@router.get("/admin/pools", response_class=HTMLResponse)
def pools_page(request: Request, ctx: Ctx, principal: PagePrincipal) -> HTMLResponse:
    rows = [{"pool": pool, "bar": _bar(pool)} for pool in pools.list_pools(ctx)]
    return render(request, "admin_pools.html", principal, {**_common(principal), "rows": rows})


def _bar(pool: pools.PoolUsage) -> dict[str, float]:
    """The widths (percent of the bar) of the running and queued parts of a pool's slots;
    a pool used beyond its slots (they were lowered) shows a full bar."""
    scale = max(pool.slots, pool.used, 1)
    running = 100 * pool.running / scale
    return {"running": round(running, 2), "queued": round(100 * pool.queued / scale, 2)}


@router.get("/admin/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    dag_id: Text = None,
    kind: Text = None,
    actor: Text = None,
    offset: Offset = 0,
) -> HTMLResponse:
    filters = {"dag_id": dag_id or None, "kind": kind or None, "actor": actor or None}
    page = events.list_events(ctx, principal=principal, **filters, limit=PAGE_SIZE, offset=offset)
    return render(
        request,
        "admin_events.html",
        principal,
        {
            "page": page,
            "pager": pager(request, page),
            "filters": filters,
            "kinds": events.EVENT_KINDS,
        },
    )
