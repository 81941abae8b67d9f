"""Backfills: runs of a DAG over a range of past logical dates (``headwater dags backfill``,
``/api/v1/backfills``, the backfill pages).

:func:`plan_backfill` says what a backfill would do at each logical date and changes
nothing; :func:`run_backfill` plans and carries the plan out (see
:mod:`headwater.operations.backfill` for the rules); :func:`list_backfills` and
:func:`get_backfill` show stored backfills with their runs' progress;
:func:`cancel_backfill` stops one (its queued runs never start).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, Field

from headwater.services._schema import IsoDatetime, Page, Schema

if TYPE_CHECKING:
    from headwater.db.rows import BackfillRow
    from headwater.engine.records import DagRun
    from headwater.operations.backfill import BackfillPlan
    from headwater.services.context import ServiceContext


class BackfillRequest(Schema):
    start: datetime | None = None
    """First logical date, included; timezone-aware (a backfill over dates)."""
    end: datetime | None = None
    """Last logical date, included; timezone-aware (a backfill over dates)."""
    partitions: str | None = None
    """Instead of dates, the partitions of a partitioned DAG: ``FIRST..LAST`` (a range)
    or ``KEY,KEY`` (``2024-01-01..2024-01-31``, ``eu,us``)."""
    reprocess: str = "failed"
    """Which existing runs to run again: ``failed``, ``none`` or ``all`` (finished ones)."""
    max_active_runs: int | None = None
    """Most runs of the backfill running at once; default: the DAG's ``max_active_runs``."""
    conf: dict[str, Any] | None = None
    """The conf of each run the backfill creates, checked against the DAG's params (runs
    it reruns keep their own)."""
    run_backwards: bool = False
    """Start the newest logical dates first (the scheduler's order within the backfill)."""


class BackfillCreate(BackfillRequest):
    """``POST /api/v1/backfills``: a backfill of ``dag_id``, or with ``dry_run`` its plan."""

    dag_id: str
    start: AwareDatetime | None = None
    """First logical date, included, with its UTC offset (``2024-01-01T00:00:00+00:00``);
    leave it out with ``partitions``."""
    end: AwareDatetime | None = None
    """Last logical date, included, with its UTC offset; leave it out with ``partitions``."""
    reprocess: Literal["failed", "none", "all"] = "failed"
    """Which existing runs to run again: failed ones, none, or all finished ones."""
    max_active_runs: int | None = Field(default=None, ge=1, le=10_000)
    """Most runs of the backfill running at once; default: the DAG's ``max_active_runs``."""
    dry_run: bool = False
    """Answer the plan (each logical date and what would happen there); change nothing."""


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
    partition_key: str | None = None
    """The partition (a backfill over partitions)."""


class BackfillPlanOut(Schema):
    """A dry run: what :func:`run_backfill` would do; nothing was changed."""

    dag_id: str
    start: IsoDatetime
    end: IsoDatetime
    reprocess: str
    partitions: str | None = None
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
    run_backwards: bool = False
    partitions: str | None = None
    dry_run: bool = False
    items: list[BackfillItemOut]
    created: list[str]
    """Run ids created."""
    rerun: list[str]
    """Run ids cleared to run again."""
    skipped: list[str]
    """Run ids left alone."""


def _plan(ctx: ServiceContext, dag_id: str, request: BackfillRequest) -> BackfillPlan:
    from headwater.authoring.params import resolve_params
    from headwater.operations import InvalidRequestError, plan_partition_backfill, stored_dag
    from headwater.operations import plan_backfill as plan

    if request.partitions is not None:
        if request.start is not None or request.end is not None:
            raise InvalidRequestError("give partitions or start and end, not both")
        result = plan_partition_backfill(
            ctx.store, dag_id, request.partitions, request.reprocess, now=ctx.now()
        )
    elif request.start is None or request.end is None:
        raise InvalidRequestError("give start and end (logical dates), or partitions")
    else:
        result = plan(
            ctx.store, dag_id, request.start, request.end, request.reprocess, now=ctx.now()
        )
    if request.conf is not None:  # a dry run refuses a conf the real backfill would refuse
        resolve_params(stored_dag(ctx.store, dag_id, action="backfill")[1].params, request.conf)
    return result


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
            partition_key=item.partition_key,
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
        start=plan.start,
        end=plan.end,
        reprocess=request.reprocess,
        partitions=plan.partitions,
        items=_items(plan),
    )


def run_backfill(
    ctx: ServiceContext, dag_id: str, request: BackfillRequest, *, created_by: str | None = None
) -> BackfillResult:
    """Plan the backfill and carry it out under a new backfill id: create the missing runs
    and clear those to rerun, all queued for the scheduler (errors as
    :func:`plan_backfill`, and invalid for ``max_active_runs`` below 1). ``created_by``
    names the user who asked."""
    from headwater.operations import run_backfill as run
    from headwater.operations import stored_dag

    plan = _plan(ctx, dag_id, request)
    max_active_runs = request.max_active_runs
    if max_active_runs is None:
        max_active_runs = stored_dag(ctx.store, dag_id, action="backfill")[1].max_active_runs
    result = run(
        ctx.store,
        plan,
        max_active_runs,
        ctx.now(),
        conf=request.conf,
        created_by=created_by,
        run_backwards=request.run_backwards,
    )
    return BackfillResult(
        backfill_id=result.id,
        dag_id=dag_id,
        start=plan.start,
        end=plan.end,
        reprocess=request.reprocess,
        max_active_runs=max_active_runs,
        run_backwards=request.run_backwards,
        partitions=plan.partitions,
        items=_items(plan),
        created=result.created,
        rerun=result.rerun,
        skipped=result.skipped,
    )


# -- stored backfills ------------------------------------------------------------------------

BackfillState = Literal["running", "completed", "cancelled"]


class BackfillRunOut(Schema):
    """One run of a backfill."""

    run_id: str
    logical_date: IsoDatetime
    state: str
    start_date: IsoDatetime | None
    end_date: IsoDatetime | None


class BackfillOut(Schema):
    """A stored backfill and how far its runs got."""

    id: int
    dag_id: str
    start: IsoDatetime
    end: IsoDatetime
    reprocess: str
    max_active_runs: int
    run_backwards: bool
    created_at: IsoDatetime
    created_by: str | None
    """Who asked for it: a user (API, UI) or ``cli:<OS user>``; None if not known."""
    completed_at: IsoDatetime | None
    """When it was cancelled; None otherwise."""
    state: BackfillState
    """``cancelled`` once cancelled; else ``running`` while a run is queued or running,
    then ``completed``."""
    total_runs: int
    finished_runs: int
    """Runs that ended (success or failed)."""
    run_states: dict[str, int]
    """How many of its runs are in each state (``{"success": 2, "queued": 1}``)."""


class BackfillDetailOut(BackfillOut):
    """A backfill with each of its runs, oldest logical date first."""

    runs: list[BackfillRunOut]


class BackfillCancelled(BackfillDetailOut):
    """A backfill just cancelled: which queued runs will not start, which still run."""

    not_started: list[str]
    still_running: list[str]


ReadableTags = Callable[[list[str]], bool]
"""Whether the caller may see a DAG with these tags (the API's role check)."""

_FINISHED = ("success", "failed")


def _backfill_runs(ctx: ServiceContext, dag_id: str) -> dict[int, list[DagRun]]:
    """Backfill id -> its runs (of ``dag_id``), oldest logical date first: one read of the
    DAG's runs for every backfill of it on a page."""
    members = ctx.store.run_backfill_ids(dag_id)
    grouped: dict[int, list[DagRun]] = {}
    for run in sorted(ctx.store.list_dag_runs(dag_id), key=lambda run: run.logical_date):
        backfill_id = members.get(run.run_id)
        if backfill_id is not None:
            grouped.setdefault(backfill_id, []).append(run)
    return grouped


def _out(row: BackfillRow, runs: list[DagRun]) -> dict[str, Any]:
    counts = Counter(run.state.value for run in runs)
    state: BackfillState
    if row.completed_at is not None:
        state = "cancelled"
    elif counts["queued"] or counts["running"]:
        state = "running"
    else:
        state = "completed"
    return {
        "id": row.id,
        "dag_id": row.dag_id,
        "start": row.start,
        "end": row.end,
        "reprocess": row.reprocess,
        "max_active_runs": row.max_active_runs,
        "run_backwards": row.run_backwards,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "completed_at": row.completed_at,
        "state": state,
        "total_runs": len(runs),
        "finished_runs": sum(counts[s] for s in _FINISHED),
        "run_states": dict(sorted(counts.items())),
    }


def _run_out(run: DagRun) -> BackfillRunOut:
    return BackfillRunOut(
        run_id=run.run_id,
        logical_date=run.logical_date,
        state=run.state.value,
        start_date=run.start_date,
        end_date=run.end_date,
    )


def _require(ctx: ServiceContext, backfill_id: int, can_read: ReadableTags | None) -> BackfillRow:
    from headwater.operations import NotFoundError

    row = ctx.store.get_backfill(backfill_id)
    if row is None or not _readable(ctx, row.dag_id, can_read, {}):
        raise NotFoundError(f"no backfill {backfill_id}")
    return row


def _readable(
    ctx: ServiceContext,
    dag_id: str,
    can_read: ReadableTags | None,
    seen: dict[str, bool],
) -> bool:
    if can_read is None:
        return True
    if dag_id not in seen:
        dag = ctx.store.get_dag(dag_id)
        seen[dag_id] = dag is not None and can_read(list(dag.tags or ()))
    return seen[dag_id]


def list_backfills(
    ctx: ServiceContext,
    *,
    dag_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    can_read: ReadableTags | None = None,
) -> Page[BackfillOut]:
    """Backfills (of ``dag_id``, or of every DAG ``can_read`` allows), newest first, with
    their progress: one page of ``limit`` from ``offset``."""
    from headwater.operations import InvalidRequestError

    if limit < 1 or offset < 0:
        raise InvalidRequestError(f"limit ({limit}) must be 1 or more, offset ({offset}) 0 or more")
    seen: dict[str, bool] = {}
    rows = [
        row
        for row in reversed(ctx.store.list_backfills(dag_id))
        if _readable(ctx, row.dag_id, can_read, seen)
    ]
    chosen = rows[offset : offset + limit]
    runs: dict[str, dict[int, list[DagRun]]] = {}
    items = []
    for row in chosen:
        if row.dag_id not in runs:
            runs[row.dag_id] = _backfill_runs(ctx, row.dag_id)
        items.append(BackfillOut(**_out(row, runs[row.dag_id].get(row.id, []))))
    return Page[BackfillOut](items=items, total=len(rows), limit=limit, offset=offset)


def get_backfill(
    ctx: ServiceContext,
    backfill_id: int,
    *,
    can_read: ReadableTags | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> BackfillDetailOut:
    """One backfill with its runs (``limit`` of them from ``offset``, oldest logical date
    first: a backfill of many partitions has too many for one answer; ``total_runs`` counts
    them all); not found if unknown or its DAG is not ``can_read``."""
    row = _require(ctx, backfill_id, can_read)
    runs = _backfill_runs(ctx, row.dag_id).get(row.id, [])
    shown = runs[offset:] if limit is None else runs[offset : offset + limit]
    return BackfillDetailOut(**_out(row, runs), runs=[_run_out(run) for run in shown])


def backfill_dag_id(
    ctx: ServiceContext, backfill_id: int, *, can_read: ReadableTags | None = None
) -> str:
    """The DAG a backfill belongs to (for the caller's permission check); not found as
    :func:`get_backfill`."""
    return _require(ctx, backfill_id, can_read).dag_id


def cancel_backfill(
    ctx: ServiceContext, backfill_id: int, *, cancelled_by: str | None = None
) -> BackfillCancelled:
    """Cancel a backfill: completed now, its queued runs fail without starting, its running
    runs finish (:func:`headwater.operations.cancel_backfill`); conflict if it was already."""
    from headwater.operations import cancel_backfill as cancel

    result = cancel(ctx.store, backfill_id, ctx.now(), cancelled_by=cancelled_by)
    detail = get_backfill(ctx, backfill_id)
    return BackfillCancelled(
        **detail.model_dump(), not_started=result.not_started, still_running=result.still_running
    )


# -- the backfill form -----------------------------------------------------------------------


class BackfillParam(Schema):
    """One param of the DAG, as the form describes it (its default passed through the
    secrets masker)."""

    name: str
    default: Any
    description: str | None


class BackfillForm(Schema):
    """What the backfill page shows before anything is planned: the DAG's header values,
    its ``max_active_runs`` (the default limit) and its params, whose defaults are the
    conf of a backfill's runs unless the form's conf sets them (the form starts with an
    empty conf, so a masked default is never sent back as ``***``)."""

    dag_id: str
    display_name: str
    """How pages name the DAG: its ``dag_display_name``, else its id."""
    description: str | None
    tags: list[str]
    is_paused: bool
    max_active_runs: int
    params: list[BackfillParam]


def backfill_form(ctx: ServiceContext, dag_id: str) -> BackfillForm:
    """The form's values for ``dag_id``; not found for a DAG the database lacks, conflict
    for one no file defines (it cannot be backfilled)."""
    from headwater.masking import redact
    from headwater.operations import stored_dag

    row, dag = stored_dag(ctx.store, dag_id, action="backfill")
    params = [
        BackfillParam(
            name=name,
            default=redact(param.default if param.has_default else None, name),
            description=param.description,
        )
        for name, param in dag.params.items()
    ]
    return BackfillForm(
        dag_id=dag_id,
        display_name=row.shown_name,
        description=row.description,
        tags=list(row.tags or ()),
        is_paused=row.is_paused,
        max_active_runs=dag.max_active_runs,
        params=params,
    )
