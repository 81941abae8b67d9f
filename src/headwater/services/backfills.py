"""Backfills: runs of a DAG over a range of past logical dates (``headwater dags backfill``).

:func:`plan_backfill` says what a backfill would do at each logical date and changes
nothing; :func:`run_backfill` plans and carries the plan out (see
:mod:`headwater.operations.backfill` for the rules).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.operations.backfill import BackfillPlan
    from headwater.services.context import ServiceContext


class BackfillRequest(Schema):
    start: datetime
    """First logical date, included; timezone-aware."""
    end: datetime
    """Last logical date, included; timezone-aware."""
    reprocess: str = "failed"
    """Which existing runs to run again: ``failed``, ``none`` or ``all`` (finished ones)."""
    max_active_runs: int | None = None
    """Most runs of the backfill running at once; default: the DAG's ``max_active_runs``."""


class BackfillItemOut(Schema):
    """What the backfill does at one logical date."""

    logical_date: IsoDatetime
    data_interval_start: IsoDatetime
    data_interval_end: IsoDatetime
    action: str
    """``create``, ``rerun`` or ``skip``."""
    run_id: str
    state: str | None
    """The existing run's state; None for ``create``."""
    reason: str


class BackfillPlanOut(Schema):
    """A dry run: what :func:`run_backfill` would do; nothing was changed."""

    dag_id: str
    start: IsoDatetime
    end: IsoDatetime
    reprocess: str
    dry_run: bool = True
    items: list[BackfillItemOut]


class BackfillResult(Schema):
    """A backfill carried out. ``backfill_id`` is None when every date was skipped: then
    nothing was stored."""

    backfill_id: int | None
    dag_id: str
    start: IsoDatetime
    end: IsoDatetime
    reprocess: str
    max_active_runs: int
    dry_run: bool = False
    items: list[BackfillItemOut]
    created: list[str]
    """Run ids created."""
    rerun: list[str]
    """Run ids cleared to run again."""
    skipped: list[str]
    """Run ids left alone."""


def _plan(ctx: ServiceContext, dag_id: str, request: BackfillRequest) -> BackfillPlan:
    from headwater.operations import plan_backfill as plan

    return plan(ctx.store, dag_id, request.start, request.end, request.reprocess, now=ctx.now())


def _items(plan: BackfillPlan) -> list[BackfillItemOut]:
    return [
        BackfillItemOut(
            logical_date=item.logical_date,
            data_interval_start=item.data_interval_start,
            data_interval_end=item.data_interval_end,
            action=item.action,
            run_id=item.run_id,
            state=item.state,
            reason=item.reason,
        )
        for item in plan
    ]


def plan_backfill(ctx: ServiceContext, dag_id: str, request: BackfillRequest) -> BackfillPlanOut:
    """What a backfill of ``dag_id`` would do at each logical date of the range, oldest
    first. Not found for a DAG the database lacks; conflict for a DAG no file defines;
    invalid for a range with no interval, too many, or an unknown ``reprocess``."""
    plan = _plan(ctx, dag_id, request)
    return BackfillPlanOut(
        dag_id=dag_id,
        start=request.start,
        end=request.end,
        reprocess=request.reprocess,
        items=_items(plan),
    )


def run_backfill(ctx: ServiceContext, dag_id: str, request: BackfillRequest) -> BackfillResult:
    """Plan the backfill and carry it out under a new backfill id: create the missing runs
    and clear those to rerun, all queued for the scheduler (errors as
    :func:`plan_backfill`, and invalid for ``max_active_runs`` below 1)."""
    from headwater.operations import run_backfill as run
    from headwater.operations import stored_dag

    plan = _plan(ctx, dag_id, request)
    max_active_runs = request.max_active_runs
    if max_active_runs is None:
        max_active_runs = stored_dag(ctx.store, dag_id, action="backfill")[1].max_active_runs
    result = run(ctx.store, plan, max_active_runs, ctx.now())
    return BackfillResult(
        backfill_id=result.id,
        dag_id=dag_id,
        start=request.start,
        end=request.end,
        reprocess=request.reprocess,
        max_active_runs=max_active_runs,
        items=_items(plan),
        created=result.created,
        rerun=result.rerun,
        skipped=result.skipped,
    )
