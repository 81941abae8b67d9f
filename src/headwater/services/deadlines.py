"""Missed deadlines and SLAs, as the CLI (``headwater dags deadlines``), the REST API
(``GET /api/v1/deadline-misses``) and the web UI show them.

A role limited to DAG tags sees the misses of the DAGs it sees only. Reasons and callback
errors pass through the secrets masker.

Example::

    page = page_deadline_misses(ctx, dag_id="daily_report", limit=20)
    [(m.run_id, m.name, m.missed_at, m.reason) for m in page.items]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Page, Schema

if TYPE_CHECKING:
    from headwater.auth.principals import Principal
    from headwater.services.context import ServiceContext
    from headwater.store.deadlines import DeadlineRow


class DeadlineOut(Schema):
    """One deadline of one run: a DAG's deadline, or a task's SLA (``kind`` ``"sla"``)."""

    id: int
    dag_id: str
    run_id: str
    task_id: str | None
    """The task of an SLA; None for the run's deadline."""
    map_index: int
    name: str
    """The deadline's name (``"sla"`` for a task's SLA)."""
    kind: str
    """``deadline`` or ``sla``."""
    due_at: IsoDatetime
    status: str
    """``waiting``, ``met`` or ``missed``."""
    missed_at: IsoDatetime | None
    reason: str | None
    """Why it was missed: the run or task unfinished at the due time, or finished later."""
    callback_state: str
    """``none`` (no callback), ``pending``, ``started``, ``done`` or ``failed``."""
    callback_error: str | None

    @classmethod
    def of(cls, row: DeadlineRow) -> DeadlineOut:
        from headwater.masking import redact_text

        return cls(
            id=row.id,
            dag_id=row.dag_id,
            run_id=row.run_id,
            task_id=row.task_id,
            map_index=row.map_index,
            name=row.name,
            kind=row.kind,
            due_at=row.due_at,
            status=row.status,
            missed_at=row.missed_at,
            reason=None if row.reason is None else redact_text(row.reason),
            callback_state=row.callback_state,
            callback_error=None if row.callback_error is None else redact_text(row.callback_error),
        )


def page_deadline_misses(
    ctx: ServiceContext,
    *,
    principal: Principal | None = None,
    dag_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[DeadlineOut]:
    """A page of missed deadlines and SLAs (of ``dag_id``), the latest miss first, as
    ``principal`` may see them (None: every DAG). An unknown ``dag_id`` is not found."""
    from headwater.services.dag_catalog import check_page
    from headwater.services.errors import NotFoundError

    check_page(limit, offset)
    dag_ids: set[str] | None = None
    if dag_id is not None:
        row = ctx.store.get_dag(dag_id)
        if row is None or (principal is not None and not principal.can_read_dag(row.tags or ())):
            raise NotFoundError(f"no DAG {dag_id!r}")
        dag_ids = {dag_id}
    elif principal is not None and principal.dag_tags is not None:
        dag_ids = {
            row.dag_id
            for row in ctx.store.list_dags(include_inactive=True)
            if principal.can_read_dag(row.tags or ())
        }
    rows, total = ctx.store.list_deadline_misses(dag_ids, offset=offset, limit=limit)
    return Page[DeadlineOut](
        items=[DeadlineOut.of(r) for r in rows], total=total, limit=limit, offset=offset
    )


def run_deadlines(ctx: ServiceContext, dag_id: str, run_id: str) -> list[DeadlineOut]:
    """Every deadline of one run (planned, met or missed), by due time: the UI's run panel."""
    return [DeadlineOut.of(r) for r in ctx.store.list_deadlines(dag_id, run_id)]


def missed_run_ids(ctx: ServiceContext, dag_id: str) -> set[str]:
    """The runs of ``dag_id`` that missed a deadline or an SLA (the grid's marker)."""
    rows, _ = ctx.store.list_deadline_misses([dag_id], limit=1000)
    return {r.run_id for r in rows}
