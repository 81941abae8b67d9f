"""A DAG's pages: grid, graph, Gantt of a run, code, run durations, docs.

Each page reads through :mod:`headwater.services.dag_views` and
:mod:`headwater.services.dag_graph`, after :func:`~headwater.web.security.require_dag_read`
(a DAG outside a tag-limited role's tags is not found). The grid and the graph are also
fragments (``?fragment=grid`` / ``?fragment=graph``) that the shell's script asks for every
3 seconds while a run shown is unfinished; the same templates render them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt

from headwater.auth.principals import Principal
from headwater.services import deadlines
from headwater.services.context import ServiceContext
from headwater.services.dag_details import get_dag_source
from headwater.services.dag_documents import dag_docs
from headwater.services.dag_graph import dag_graph
from headwater.services.dag_views import (
    MAX_GRID_RUNS,
    dag_grid,
    dag_header,
    run_detail,
    run_durations,
)
from headwater.services.run_gantt import GanttAttempt, GanttRow, run_gantt
from headwater.web.context import Ctx
from headwater.web.security import require_dag_read
from headwater.web.ui.charts import durations_chart, format_seconds, gantt_chart, svg_path
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

LIVE_INTERVAL_MS = 3000


def markdown_html(text: str) -> str:
    """``text`` rendered as CommonMark with raw HTML shown as text and links to
    ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` refused (left as text):
    what a DAG file says can never run a script in the page."""
    return MarkdownIt("commonmark", {"html": False}).render(text)


def _q(value: str) -> str:
    return quote(value, safe="")


def _page(
    request: Request,
    ctx: ServiceContext,
    principal: Principal,
    dag_id: str,
    tab: str,
    template: str,
    context: dict[str, Any],
) -> HTMLResponse:
    header = dag_header(ctx, dag_id)
    values = {
        "dag_id": dag_id,
        "display_name": header.display_name,
        "paused": header.paused,
        "tags": header.tags,
        "description": header.description,
        "active_tab": tab,
        "dag_header_title": True,
        "can_operate": principal.at_least("op"),
        **context,
    }
    return render(request, template, principal, values)


@router.get("/dags/{dag_id}")
def grid_page(
    request: Request,
    dag_id: str,
    ctx: Ctx,
    principal: PagePrincipal,
    run_id: str | None = None,
    runs: Annotated[int, Query(ge=1, le=MAX_GRID_RUNS)] = 25,
    before: Annotated[str | None, Query()] = None,
    fragment: str | None = None,
) -> Response:
    """The grid: runs as columns (newest right), tasks as rows; a panel for one run."""
    from headwater.services.errors import InvalidRequestError

    require_dag_read(ctx, principal, dag_id)
    cursor = None
    if before:
        try:
            cursor = datetime.fromisoformat(before)
        except ValueError:
            raise InvalidRequestError(f"before {before!r} is not an ISO 8601 date") from None
    grid = dag_grid(ctx, dag_id, runs=runs, before=cursor)
    shown = {r.run_id for r in grid.runs}
    if run_id is None and grid.runs:
        run_id = grid.runs[-1].run_id
    selected = run_detail(ctx, dag_id, run_id) if run_id is not None else None
    query = {"runs": runs, **({"before": before} if before else {})}
    if selected is not None and selected.run_id in shown:
        query["run_id"] = selected.run_id
    context = {
        "grid": grid,
        "selected": selected,
        "missed_runs": deadlines.missed_run_ids(ctx, dag_id),
        "selected_deadlines": (
            deadlines.run_deadlines(ctx, dag_id, selected.run_id) if selected is not None else []
        ),
        "live_url": f"/dags/{_q(dag_id)}?{urlencode({**query, 'fragment': 'grid'})}",
        "live_interval": LIVE_INTERVAL_MS,
        "older_url": (
            f"/dags/{_q(dag_id)}?{urlencode({'runs': runs, 'before': grid.older.isoformat()})}"
            if grid.older is not None
            else None
        ),
        "newest_url": f"/dags/{_q(dag_id)}?{urlencode({'runs': runs})}" if before else None,
        "runs_param": runs,
        "before_param": before,
        "format_seconds": format_seconds,
    }
    if fragment == "grid":
        return _page(request, ctx, principal, dag_id, "grid", "views_grid_fragment.html", context)
    return _page(request, ctx, principal, dag_id, "grid", "views_grid.html", context)


def _graph_url(dag_id: str, run_id: str | None, collapsed: list[str], **extra: str) -> str:
    params: list[tuple[str, str]] = [("run_id", run_id)] if run_id else []
    params += [("collapsed", group) for group in sorted(collapsed)]
    params += list(extra.items())
    query = urlencode(params)
    return f"/dags/{_q(dag_id)}/graph" + (f"?{query}" if query else "")


@router.get("/dags/{dag_id}/graph")
def graph_page(
    request: Request,
    dag_id: str,
    ctx: Ctx,
    principal: PagePrincipal,
    run_id: str | None = None,
    collapsed: Annotated[list[str] | None, Query()] = None,
    fragment: str | None = None,
) -> Response:
    """The graph: a layered layout of the tasks, coloured by the selected run."""
    require_dag_read(ctx, principal, dag_id)
    folded = sorted(set(collapsed or []))
    graph = dag_graph(ctx, dag_id, run_id=run_id or None, collapsed=folded)
    recent = run_durations(ctx, dag_id, runs=MAX_GRID_RUNS).runs[::-1]

    def toggle(group_id: str) -> str:
        changed = (
            [g for g in folded if g != group_id] if group_id in folded else [*folded, group_id]
        )
        return _graph_url(dag_id, run_id, changed)

    context = {
        "graph": graph,
        "recent_runs": recent,
        "selected_run_id": graph.run_id,
        "folded": folded,
        "toggle_url": toggle,
        "path_of": svg_path,
        "live_url": _graph_url(dag_id, run_id, folded, fragment="graph"),
        "live_interval": LIVE_INTERVAL_MS,
        "unfinished": graph.run_state in ("queued", "running"),
    }
    template = "views_graph_fragment.html" if fragment == "graph" else "views_graph.html"
    return _page(request, ctx, principal, dag_id, "graph", template, context)


@router.get("/dags/{dag_id}/gantt")
def newest_gantt(
    dag_id: str, ctx: Ctx, principal: PagePrincipal, request: Request, run_id: str | None = None
) -> Response:
    """The Gantt tab: the chart of run ``run_id`` (the run selector's choice), else of the
    newest run, else a page saying there is no run yet."""
    require_dag_read(ctx, principal, dag_id)
    if run_id:
        return RedirectResponse(f"/dags/{_q(dag_id)}/runs/{_q(run_id)}/gantt", 303)
    newest = run_durations(ctx, dag_id, runs=1).runs
    if newest:
        return RedirectResponse(f"/dags/{_q(dag_id)}/runs/{_q(newest[0].run_id)}/gantt", 303)
    return _page(request, ctx, principal, dag_id, "gantt", "views_gantt.html", {"chart": None})


@router.get("/dags/{dag_id}/runs/{run_id}/gantt")
def gantt_page(
    request: Request, dag_id: str, run_id: str, ctx: Ctx, principal: PagePrincipal
) -> Response:
    """A run's task instances on a time axis: queued (lighter), then running."""
    require_dag_read(ctx, principal, dag_id)
    gantt = run_gantt(ctx, dag_id, run_id)

    def attempt_href(row: GanttRow, attempt: GanttAttempt) -> str:
        query = urlencode({"map_index": row.map_index, "try_number": attempt.try_number})
        return f"/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(row.task_id)}?{query}"

    chart = gantt_chart(gantt, ctx.now(), attempt_href)
    recent = run_durations(ctx, dag_id, runs=MAX_GRID_RUNS).runs[::-1]
    context = {"gantt": gantt, "chart": chart, "recent_runs": recent}
    return _page(request, ctx, principal, dag_id, "gantt", "views_gantt.html", context)


@router.get("/dags/{dag_id}/code")
def code_page(request: Request, dag_id: str, ctx: Ctx, principal: PagePrincipal) -> Response:
    """The DAG file's source with line numbers."""
    require_dag_read(ctx, principal, dag_id)
    source = get_dag_source(ctx, dag_id)
    context = {"source": source, "lines": source.source.splitlines()}
    return _page(request, ctx, principal, dag_id, "code", "views_code.html", context)


@router.get("/dags/{dag_id}/durations")
def durations_page(
    request: Request,
    dag_id: str,
    ctx: Ctx,
    principal: PagePrincipal,
    runs: Annotated[int, Query(ge=1, le=MAX_GRID_RUNS)] = 50,
) -> Response:
    """Run durations over time as a bar chart coloured by run state."""
    require_dag_read(ctx, principal, dag_id)
    durations = run_durations(ctx, dag_id, runs=runs)
    chart = durations_chart(
        durations.runs, lambda run: f"/dags/{_q(dag_id)}?{urlencode({'run_id': run.run_id})}"
    )
    context = {"durations": durations, "chart": chart, "format_seconds": format_seconds}
    return _page(request, ctx, principal, dag_id, "durations", "views_durations.html", context)


@router.get("/dags/{dag_id}/docs")
def docs_page(request: Request, dag_id: str, ctx: Ctx, principal: PagePrincipal) -> Response:
    """The DAG's ``doc_md`` and its tasks', rendered as Markdown (raw HTML as text)."""
    require_dag_read(ctx, principal, dag_id)
    docs = dag_docs(ctx, dag_id)
    context = {
        "docs": docs,
        "dag_html": markdown_html(docs.doc_md) if docs.doc_md else None,
        "task_html": [(t.task_id, markdown_html(t.doc_md)) for t in docs.tasks],
    }
    return _page(request, ctx, principal, dag_id, "docs", "views_docs.html", context)
