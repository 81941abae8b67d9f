"""The backfill form of a DAG (``/dags/{dag_id}/backfill``), with a dry-run preview before
the real submit, and the list of backfills (``/backfills``) with their progress and a
cancel button.

Both read through :mod:`headwater.services.backfills`; the form's script
(``static/backfill.js``) plans and starts backfills through ``POST /api/v1/backfills``,
and the cancel button calls ``POST /api/v1/backfills/{id}/cancel`` (the shell's
``data-api-action``), so every rule and permission check is the API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services.backfills import BackfillOut, backfill_form, list_backfills
from headwater.web.context import Ctx
from headwater.web.security import require_dag_read
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

PROGRESS_ORDER = ("success", "failed", "running", "queued")
"""The order of a progress bar's segments: finished first, then what is still to come."""


@dataclass(frozen=True)
class Segment:
    """One state's part of a backfill's progress bar, in percent of its runs."""

    state: str
    count: int
    x: float
    width: float


def progress_segments(backfill: BackfillOut) -> list[Segment]:
    """The bar's segments, one per state with runs (server-made SVG: widths are
    attributes, not inline styles, which the CSP forbids)."""
    total = backfill.total_runs
    if total == 0:
        return []
    states = [s for s in PROGRESS_ORDER if backfill.run_states.get(s)]
    states += sorted(s for s in backfill.run_states if s not in PROGRESS_ORDER)
    segments, x = [], 0.0
    for state in states:
        count = backfill.run_states[state]
        width = 100.0 * count / total
        segments.append(Segment(state, count, round(x, 3), round(width, 3)))
        x += width
    return segments


def progress_text(backfill: BackfillOut) -> str:
    """The bar's text alternative: ``2 of 3 runs finished (success 2, queued 1)``."""
    counts = ", ".join(f"{state} {count}" for state, count in backfill.run_states.items())
    return f"{backfill.finished_runs} of {backfill.total_runs} runs finished" + (
        f" ({counts})" if counts else ""
    )


@router.get("/dags/{dag_id}/backfill", response_class=HTMLResponse)
def backfill_page(
    dag_id: str, request: Request, ctx: Ctx, principal: PagePrincipal
) -> HTMLResponse:
    require_dag_read(ctx, principal, dag_id)
    form = backfill_form(ctx, dag_id)
    return render(
        request,
        "backfill_form.html",
        principal,
        {
            "form": form,
            "can_operate": principal.can_operate_dag(form.tags),
            # The DAG header partial's context (views part: dag_header.html).
            "dag_id": dag_id,
            "display_name": form.display_name,
            "paused": form.is_paused,
            "tags": form.tags,
            "description": form.description,
            "active_tab": "backfill",
        },
    )


@router.get("/backfills", response_class=HTMLResponse)
def backfills_page(
    request: Request,
    ctx: Ctx,
    principal: PagePrincipal,
    dag_id: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    fragment: str | None = None,
) -> HTMLResponse:
    if dag_id:
        require_dag_read(ctx, principal, dag_id)
    page = list_backfills(
        ctx,
        dag_id=dag_id or None,
        limit=PAGE_SIZE,
        offset=offset,
        can_read=principal.can_read_dag,
    )
    context = {
        "page": page,
        "dag_id": dag_id or "",
        "offset": offset,
        "page_size": PAGE_SIZE,
        "can_operate": principal.at_least("op"),
        "any_running": any(b.state == "running" for b in page.items),
        "segments": progress_segments,
        "progress_text": progress_text,
    }
    template = "backfill_list_table.html" if fragment == "table" else "backfill_list.html"
    return render(request, template, principal, context)
