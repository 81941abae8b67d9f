"""A DAG's runs as the REST API and the web UI show them: a page with filters (state, run
type, a range of logical dates), and one run with its task instances; ``conf`` passes
through the secrets masker. Example::

    page = page_runs(ctx, "etl", RunFilters(state="failed"), limit=25)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headwater.masking import redact
from headwater.operations.errors import InvalidRequestError
from headwater.services._schema import Page, Schema
from headwater.services.dag_catalog import check_page
from headwater.services.runs import RUN_STATES, DagRunOut, DagRunWithInstances
from headwater.services.task_instances import TaskInstanceOut
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.services.context import ServiceContext

RUN_TYPES = ("manual", "scheduled", "backfill")


class RunFilters(Schema):
    """Which runs a list keeps; every field left out keeps all."""

    state: str | None = None
    run_type: str | None = None
    start: datetime | None = None
    """Logical dates from this one on (timezone-aware)."""
    end: datetime | None = None
    """Logical dates up to this one, included (timezone-aware)."""


def shown_run(run: DagRun) -> DagRunOut:
    """``run`` as answered: its conf masked."""
    return masked_run(DagRunOut.of(run))


def masked_run(run: DagRunOut) -> DagRunOut:
    """``run`` with its conf through the secrets masker, as every answer shows it."""
    return run.model_copy(update={"conf": redact(run.conf)})


def page_runs(
    ctx: ServiceContext,
    dag_id: str,
    filters: RunFilters | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
) -> Page[DagRunOut]:
    """Runs of ``dag_id`` newest logical date first; invalid for an unknown state or run
    type, a date without a time zone, or a range that ends before it starts."""
    check_page(limit, offset)
    filters = _checked(filters or RunFilters())
    runs, total = ctx.store.page_dag_runs(
        dag_id,
        states=[filters.state] if filters.state else None,
        run_types=[filters.run_type] if filters.run_type else None,
        start=filters.start,
        end=filters.end,
        limit=limit,
        offset=offset,
    )
    return Page[DagRunOut](
        items=[shown_run(run) for run in runs], total=total, limit=limit, offset=offset
    )


def get_run_detail(ctx: ServiceContext, dag_id: str, run_id: str) -> DagRunWithInstances:
    """Run ``run_id`` of ``dag_id`` with its task instances (conf masked)."""
    from headwater.operations import require_run

    run = require_run(ctx.store, dag_id, run_id)
    tis = ctx.store.get_task_instances(dag_id, run_id)
    return DagRunWithInstances(
        **shown_run(run).model_dump(), task_instances=[TaskInstanceOut.of(ti) for ti in tis]
    )


def _checked(filters: RunFilters) -> RunFilters:
    """``filters`` checked, with its dates in UTC."""
    if filters.state is not None and filters.state not in RUN_STATES:
        raise InvalidRequestError(
            f"state {quoted(filters.state)} is not one of {', '.join(RUN_STATES)}"
        )
    if filters.run_type is not None and filters.run_type not in RUN_TYPES:
        raise InvalidRequestError(
            f"run_type {quoted(filters.run_type)} is not one of {', '.join(RUN_TYPES)}"
        )
    dates = {}
    for field in ("start", "end"):
        value = getattr(filters, field)
        if value is None:
            continue
        if value.utcoffset() is None:
            raise InvalidRequestError(f"{field} {value.isoformat()} has no time zone")
        try:
            dates[field] = value.astimezone(UTC)
        except OverflowError:
            raise InvalidRequestError(f"{field} {value.isoformat()} is out of range") from None
    start, end = dates.get("start"), dates.get("end")
    if start is not None and end is not None and start > end:
        raise InvalidRequestError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return filters.model_copy(update=dates)
