"""A task attempt's page: the instance's state and operator, the chosen try's metadata
(host, pid, start, end, duration, exit reason), its log (followed live while the attempt
runs, by ``static/tasks.js`` through the logs API), rendered fields, XComs, the other tries
and, for a mapped task, its map indexes. Clear and mark open the dialogs of
``tasks_actions.html``, which the grid page can include too.

``?fragment=meta`` answers only the metadata section, which the page asks for again while
the attempt runs (the shell's live fragments) until it carries ``data-live-done``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from headwater.services.attempt_page import AttemptPageOut, attempt_page
from headwater.services.task_changes import MAX_MAP_INDEX
from headwater.web.context import Ctx
from headwater.web.security import require_dag_read
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
"""An instance in one of these states starts no new try by itself."""


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", response_class=HTMLResponse)
def attempt(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    ctx: Ctx,
    principal: PagePrincipal,
    map_index: Annotated[int, Query(ge=-1, le=MAX_MAP_INDEX)] = -1,
    try_number: Annotated[int | None, Query(ge=1, le=MAX_MAP_INDEX)] = None,
    fragment: Annotated[str | None, Query(pattern="^meta$")] = None,
) -> HTMLResponse:
    require_dag_read(ctx, principal, dag_id)
    data = attempt_page(ctx, dag_id, run_id, task_id, map_index=map_index, try_number=try_number)
    dag, run, task = (quote(part, safe="") for part in (dag_id, run_id, task_id))
    base = f"/dags/{dag}/runs/{run}/tasks/{task}"
    api = f"/api/v1{base}"
    chosen = data.attempt.try_number if data.attempt is not None else None

    def page_of(number: int | None = None, index: int = map_index) -> str:
        query: dict[str, int] = {"map_index": index}
        if number is not None:
            query["try_number"] = number
        return f"{base}?{urlencode(query)}"

    context: dict[str, Any] = {
        "page": data,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "label": data.instance.label,
        "display_name": data.dag.display_name,
        "paused": data.dag.paused,
        "tags": data.dag.tags,
        "description": data.dag.description,
        "active_tab": "grid",
        "can_operate": principal.at_least("op"),
        "ended": not _may_change(data),
        "latest_try": _latest_try(data),
        "shows_latest": data.attempt is None or data.attempt.try_number == _latest_try(data),
        "meta_url": page_of(chosen) + "&fragment=meta",
        "page_of": page_of,
        "log_url": (
            f"{api}/logs/{chosen}?{urlencode({'map_index': map_index})}" if chosen else None
        ),
        "shown": _shown,
        "tasks_api": f"/api/v1/dags/{dag}/runs/{run}/tasks",
        "run_url": f"/dags/{quote(dag_id, safe='')}?{urlencode({'run_id': run_id})}",
    }
    template = "tasks_attempt_meta.html" if fragment == "meta" else "tasks_attempt.html"
    return render(request, template, principal, context)


def _latest_try(data: AttemptPageOut) -> int:
    """The instance's latest try (0 before its first)."""
    return max((t.try_number for t in data.instance.tries), default=0)


def _may_change(data: AttemptPageOut) -> bool:
    """Whether what the page shows may still change: the try shown has not ended, or it is
    the latest and the instance is not finished (a retry or a clear runs a new try)."""
    if data.attempt is not None and data.attempt.end_date is None:
        return True
    shows_latest = data.attempt is None or data.attempt.try_number == _latest_try(data)
    return shows_latest and data.instance.state not in FINISHED


def _shown(value: object) -> str:
    """A value in the page: text as it is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)
