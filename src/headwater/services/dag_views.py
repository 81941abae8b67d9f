"""A DAG's views as data: the grid (runs x tasks), run durations, and what the top of its
pages shows. The graph is in :mod:`headwater.services.dag_graph`, a run's Gantt chart in
:mod:`headwater.services.run_gantt`, the DAG file's source and docs in
:mod:`headwater.services.dag_documents`.

The grid reads a page of runs by the index on ``(dag_id, logical_date)`` and all their task
instances in one query by the primary key's prefix, so it costs the same with ten thousand
or a million task instances in the database. Example::

    grid = dag_grid(ctx, "etl", runs=25)
    grid.rows[0].cells[-1].state   # the first task's state in the newest run
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from headwater.masking import redact_text
from headwater.services._schema import IsoDatetime, Schema
from headwater.services.dag_structure import (
    aggregate_state,
    group_chain,
    groups_of,
    load_structure,
    task_label,
)

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun, TaskInstance
    from headwater.services.context import ServiceContext
    from headwater.services.runs import DagRunOut

MAX_GRID_RUNS = 100
"""The most runs one grid page shows (``runs`` is 1 to this)."""

UNFINISHED_RUN_STATES = ("queued", "running")


class RunSummary(Schema):
    """A run as a column of the grid or a bar of the durations chart."""

    run_id: str
    logical_date: IsoDatetime
    state: str
    run_type: str
    start_date: IsoDatetime | None
    end_date: IsoDatetime | None
    duration: float | None
    """Seconds from start to end; None until the run ended."""

    @classmethod
    def of(cls, run: DagRun) -> RunSummary:
        duration = None
        if run.start_date is not None and run.end_date is not None:
            duration = (run.end_date - run.start_date).total_seconds()
        return cls(
            run_id=run.run_id,
            logical_date=run.logical_date,
            state=run.state.value,
            run_type=run.run_type,
            start_date=run.start_date,
            end_date=run.end_date,
            duration=duration,
        )


class GridCell(Schema):
    """One task (or group) in one run. A mapped task's instances fold into one cell:
    ``map_count`` of them, ``state_counts`` per state, ``state`` the one standing for all,
    and ``map_index`` the instance to open (the first that failed, else the first)."""

    state: str | None
    """None: the run has no instance of this task (added after the run was made)."""
    try_number: int | None = None
    map_count: int | None = None
    state_counts: dict[str, int] = {}
    map_index: int = -1


class GridRow(Schema):
    """A task, or a task group with its rows as ``children``; ``cells`` line up with the
    grid's ``runs``."""

    id: str
    label: str
    kind: Literal["task", "group"]
    mapped: bool = False
    depth: int
    cells: list[GridCell]
    children: list[GridRow] = []
    tooltip: str = ""


class DagGrid(Schema):
    """Runs (oldest first: the newest is the right-most column) and task rows in the DAG's
    order, grouped by task group. ``older`` is the ``before`` cursor of the page of older
    runs (None when there are none); ``unfinished`` says whether a run shown may change."""

    dag_id: str
    runs: list[RunSummary]
    rows: list[GridRow]
    before: IsoDatetime | None
    older: IsoDatetime | None
    unfinished: bool


def _require_runs(runs: int, field: str = "runs") -> int:
    from headwater.operations.errors import InvalidRequestError

    if not 1 <= runs <= MAX_GRID_RUNS:
        raise InvalidRequestError(f"{field} must be from 1 to {MAX_GRID_RUNS}, not {runs}")
    return runs


def dag_grid(
    ctx: ServiceContext, dag_id: str, *, runs: int = 25, before: datetime | None = None
) -> DagGrid:
    """The last ``runs`` runs (1 to 100) of ``dag_id`` with a logical date before ``before``
    (timezone-aware; None: the newest), with every task's state in each."""
    _require_runs(runs)
    if before is not None:
        before = _cursor(before)
    _, dag = load_structure(ctx, dag_id)
    page = ctx.store.list_dag_runs_before(dag_id, before, runs + 1)
    older = None
    if len(page) > runs:
        page = page[1:]
        older = page[0].logical_date
    tis = ctx.store.get_task_instances_of_runs(dag_id, [r.run_id for r in page])
    by_run: dict[str, dict[str, list[TaskInstance]]] = defaultdict(lambda: defaultdict(list))
    for ti in tis:
        by_run[ti.run_id][ti.task_id].append(ti)
    columns = [by_run.get(run.run_id, {}) for run in page]
    return DagGrid(
        dag_id=dag_id,
        runs=[RunSummary.of(run) for run in page],
        rows=_rows(dag, columns),
        before=before,
        older=older,
        unfinished=any(run.state.value in UNFINISHED_RUN_STATES for run in page),
    )


def _cursor(before: datetime) -> datetime:
    """``before`` in UTC; invalid without a time zone or beyond the dates UTC can hold."""
    from headwater.operations._stored import require_aware
    from headwater.operations.errors import InvalidRequestError

    aware = require_aware(before, "before")
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise InvalidRequestError(f"before {before.isoformat()} is out of range") from None


def _task_cell(instances: list[TaskInstance], mapped: bool) -> GridCell:
    if not instances:
        return GridCell(state=None)
    if not mapped:
        ti = instances[0]
        return GridCell(state=ti.state.value, try_number=ti.try_number, map_index=ti.map_index)
    counts = Counter(ti.state.value for ti in instances)
    failed = [ti for ti in instances if ti.state.value == "failed"]
    shown = failed[0] if failed else instances[0]
    real = [ti for ti in instances if ti.map_index >= 0]
    return GridCell(
        state=aggregate_state(counts),
        try_number=max(ti.try_number for ti in instances),
        map_count=len(real),
        state_counts=dict(sorted(counts.items())),
        map_index=shown.map_index,
    )


def _rows(dag: DAG, columns: list[dict[str, list[TaskInstance]]]) -> list[GridRow]:
    """Task rows in topological order, each group placed where its first task comes."""
    groups = groups_of(dag)
    top: list[str] = []  # ids of the top level's tasks and groups, in order
    members: dict[str, list[str]] = defaultdict(list)
    placed: set[str] = set()
    tasks = {t.task_id: t for t in dag.topological_sort()}
    for task in tasks.values():
        chain = group_chain(task)
        parents = [None, *chain]
        for parent, child in zip(parents, [*chain, task.task_id], strict=True):
            if child in placed:
                continue
            placed.add(child)
            (top if parent is None else members[parent]).append(child)

    def build(node_id: str, depth: int) -> GridRow:
        if node_id in tasks:
            task = tasks[node_id]
            cells = [_task_cell(column.get(node_id, []), task.is_mapped) for column in columns]
            return GridRow(
                id=node_id,
                label=task_label(task),
                kind="task",
                mapped=task.is_mapped,
                depth=depth,
                cells=cells,
            )
        children = [build(child, depth + 1) for child in members[node_id]]
        descendants = _task_ids(children)
        cells = []
        for column in columns:
            states = [ti.state.value for tid in descendants for ti in column.get(tid, [])]
            cells.append(GridCell(state=aggregate_state(states)))
        group = groups[node_id]
        return GridRow(
            id=node_id,
            label=group.label,
            kind="group",
            depth=depth,
            cells=cells,
            children=children,
            tooltip=group.tooltip,
        )

    return [build(node_id, 0) for node_id in top]


def _task_ids(rows: list[GridRow]) -> list[str]:
    found = []
    for row in rows:
        found.extend(_task_ids(row.children) if row.kind == "group" else [row.id])
    return found


class DagDurations(Schema):
    """The last runs of a DAG, oldest first, with how long each took."""

    dag_id: str
    runs: list[RunSummary]


def run_durations(ctx: ServiceContext, dag_id: str, *, runs: int = 50) -> DagDurations:
    """The last ``runs`` runs (1 to 100) of ``dag_id`` for the durations chart."""
    from headwater.operations import dag_row

    _require_runs(runs)
    dag_row(ctx.store, dag_id)
    page = ctx.store.list_dag_runs_before(dag_id, None, runs)
    return DagDurations(dag_id=dag_id, runs=[RunSummary.of(run) for run in page])


class DagHeader(Schema):
    """What the top of every page of a DAG shows."""

    dag_id: str
    display_name: str
    """How pages name the DAG: its ``dag_display_name``, else its id."""
    paused: bool
    tags: list[str]
    description: str | None


def dag_header(ctx: ServiceContext, dag_id: str) -> DagHeader:
    """The header of ``dag_id``'s pages; not found for a DAG the database lacks."""
    from headwater.operations import dag_row

    row = dag_row(ctx.store, dag_id)
    return DagHeader(
        dag_id=dag_id,
        display_name=row.shown_name,
        paused=row.is_paused,
        tags=list(row.tags or ()),
        description=redact_text(row.description) if row.description else None,
    )


def run_detail(ctx: ServiceContext, dag_id: str, run_id: str) -> DagRunOut:
    """Run ``run_id`` of ``dag_id`` (its conf masked by the secrets masker); not found."""
    from headwater.operations import require_run
    from headwater.services.run_history import shown_run

    return shown_run(require_run(ctx.store, dag_id, run_id))
