"""The views' services on a DAG with nested task groups and a mapped task: the grid's tree
of rows and folded cells, its page bounds, the graph with groups collapsed or boxed, the
docs and the source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.services.context import ServiceContext
from headwater.services.dag_details import get_dag_source
from headwater.services.dag_documents import dag_docs
from headwater.services.dag_graph import dag_graph
from headwater.services.dag_views import GridRow, dag_grid, run_durations
from headwater.services.errors import InvalidRequestError, NotFoundError
from stored_dags import store_dags

GROUPED = """
from datetime import UTC, datetime
from headwater import DAG, TaskGroup, task
from headwater.operators import BashOperator

with DAG("grouped", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily",
         doc_md="# Grouped\\nLoads *users* and orders.") as grouped:
    begin = BashOperator(task_id="begin", bash_command="echo")
    with TaskGroup("extract", tooltip="pull the data") as extract:
        users = BashOperator(task_id="users", bash_command="echo")
        with TaskGroup("inner") as inner:
            orders = BashOperator(task_id="orders", bash_command="echo", doc_md="Orders _doc_")
        users >> inner

    @task
    def items() -> list[int]:
        return [1, 2]

    @task
    def each(x: int) -> int:
        return x

    finish = BashOperator(task_id="finish", bash_command="echo")
    numbers = items()
    begin >> extract >> finish
    begin >> numbers
    each.expand(x=numbers) >> finish
"""

DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
S = TaskInstanceState


@pytest.fixture
def grouped(ctx: ServiceContext, tmp_path: Path) -> ServiceContext:
    store_dags(ctx.store, tmp_path / "grouped", GROUPED)
    return ctx


def _run(
    ctx: ServiceContext, run_id: str, day: int, states: dict[str, object], **kw: object
) -> None:
    """A run of ``grouped`` whose instances are in ``states`` (a list: mapped instances)."""
    date = DAY0 + timedelta(days=day)
    run = DagRun("grouped", run_id, date, date, date, run_type="scheduled", **kw)  # type: ignore[arg-type]
    tis = []
    for task_id, state in states.items():
        if isinstance(state, list):
            tis += [
                TaskInstance("grouped", run_id, task_id, i, s, try_number=1)
                for i, s in enumerate(state)
            ]
        else:
            tis.append(TaskInstance("grouped", run_id, task_id, -1, state, try_number=2))  # type: ignore[arg-type]
    ctx.store.create_dag_run(run, tis)


ALL_DONE = {
    "begin": S.SUCCESS,
    "extract.users": S.SUCCESS,
    "extract.inner.orders": S.FAILED,
    "items": S.SUCCESS,
    "each": [S.SUCCESS, S.FAILED, S.SUCCESS],
    "finish": S.UPSTREAM_FAILED,
}


def _flat(rows: list[GridRow]) -> list[tuple[int, str, str]]:
    found = []
    for row in rows:
        found.append((row.depth, row.kind, row.id))
        found += _flat(row.children)
    return found


def test_grid_rows_follow_the_dag_order_as_a_tree_of_groups(grouped: ServiceContext) -> None:
    _run(grouped, "r1", 0, ALL_DONE, state=DagRunState.FAILED)
    grid = dag_grid(grouped, "grouped")
    assert _flat(grid.rows) == [
        (0, "task", "begin"),
        (0, "group", "extract"),
        (1, "task", "extract.users"),
        (1, "group", "extract.inner"),
        (2, "task", "extract.inner.orders"),
        (0, "task", "items"),
        (0, "task", "each"),
        (0, "task", "finish"),
    ]
    extract = grid.rows[1]
    assert (extract.label, extract.tooltip) == ("extract", "pull the data")
    assert [c.label for c in extract.children] == ["users", "inner"]
    assert extract.cells[0].state == "failed"  # a failed member is never hidden
    assert extract.children[1].children[0].label == "orders"


def test_a_mapped_task_is_one_row_with_counts_per_state(grouped: ServiceContext) -> None:
    _run(grouped, "r1", 0, ALL_DONE, state=DagRunState.FAILED)
    each = dag_grid(grouped, "grouped").rows[3]
    assert each.mapped and each.id == "each"
    cell = each.cells[0]
    assert (cell.state, cell.map_count, cell.map_index) == ("failed", 3, 1)
    assert cell.state_counts == {"failed": 1, "success": 2}
    assert dag_grid(grouped, "grouped").rows[0].cells[0].try_number == 2


def test_a_task_missing_from_a_run_has_an_empty_cell(grouped: ServiceContext) -> None:
    _run(grouped, "old", 0, {"begin": S.SUCCESS}, state=DagRunState.SUCCESS)
    grid = dag_grid(grouped, "grouped")
    assert grid.rows[0].cells[0].state == "success"
    assert grid.rows[-1].cells[0].state is None
    assert grid.rows[1].cells[0].state is None  # a group with no instance at all


def test_the_grid_pages_back_from_the_newest_runs(grouped: ServiceContext) -> None:
    for day in range(3):
        _run(grouped, f"d{day}", day, {"begin": S.SUCCESS}, state=DagRunState.SUCCESS)
    _run(grouped, "d3", 3, {"begin": S.RUNNING}, state=DagRunState.RUNNING)
    newest = dag_grid(grouped, "grouped", runs=2)
    assert [r.run_id for r in newest.runs] == ["d2", "d3"]  # newest on the right
    assert newest.unfinished is True
    assert newest.older == DAY0 + timedelta(days=2)
    older = dag_grid(grouped, "grouped", runs=2, before=newest.older)
    assert [r.run_id for r in older.runs] == ["d0", "d1"]
    assert older.older is None and older.unfinished is False
    assert older.before == newest.older


@pytest.mark.parametrize("runs", [0, -1, 101])
def test_the_number_of_runs_is_bounded(grouped: ServiceContext, runs: int) -> None:
    with pytest.raises(InvalidRequestError, match=f"runs must be from 1 to 100, not {runs}"):
        dag_grid(grouped, "grouped", runs=runs)
    with pytest.raises(InvalidRequestError, match="runs must be from 1 to 100"):
        run_durations(grouped, "grouped", runs=runs)


def test_before_must_name_its_time_zone(grouped: ServiceContext) -> None:
    with pytest.raises(InvalidRequestError, match=r"before 2024-01-02T00:00:00 has no time zone"):
        dag_grid(grouped, "grouped", before=datetime(2024, 1, 2))


def test_an_unknown_dag_is_not_found(grouped: ServiceContext) -> None:
    with pytest.raises(NotFoundError, match="no DAG 'nope'"):
        dag_grid(grouped, "nope")


def test_durations_are_end_minus_start_of_ended_runs(grouped: ServiceContext) -> None:
    start = DAY0 + timedelta(days=5)
    _run(
        grouped,
        "done",
        0,
        {},
        state=DagRunState.SUCCESS,
        start_date=start,
        end_date=start + timedelta(seconds=90),
    )
    _run(grouped, "going", 1, {}, state=DagRunState.RUNNING, start_date=start)
    runs = run_durations(grouped, "grouped").runs
    assert [(r.run_id, r.duration) for r in runs] == [("done", 90.0), ("going", None)]


def test_the_graph_boxes_each_expanded_group_around_its_members(grouped: ServiceContext) -> None:
    _run(grouped, "r1", 0, ALL_DONE, state=DagRunState.FAILED)
    graph = dag_graph(grouped, "grouped")
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {
        "begin",
        "extract.users",
        "extract.inner.orders",
        "items",
        "each",
        "finish",
    }
    assert nodes["each"].state == "failed" and nodes["each"].mapped
    boxes = {g.id: g for g in graph.groups}
    assert list(boxes) == ["extract", "extract.inner"]  # outer first: drawn below the inner
    for group_id, members in (
        ("extract", ["extract.users", "extract.inner.orders"]),
        ("extract.inner", ["extract.inner.orders"]),
    ):
        box = boxes[group_id]
        for member in members:
            node = nodes[member]
            assert box.x < node.x and node.x + node.width < box.x + box.width
            assert box.y < node.y and node.y + node.height < box.y + box.height
    inner, outer = boxes["extract.inner"], boxes["extract"]
    assert outer.x < inner.x and inner.x + inner.width < outer.x + outer.width
    assert graph.width >= outer.x + outer.width and graph.height >= outer.y + outer.height


def test_a_collapsed_group_is_one_node_with_the_edges_of_its_tasks(
    grouped: ServiceContext,
) -> None:
    _run(grouped, "r1", 0, ALL_DONE, state=DagRunState.FAILED)
    graph = dag_graph(grouped, "grouped", collapsed=["extract"], run_id="r1")
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {"begin", "extract", "items", "each", "finish"}
    assert (nodes["extract"].kind, nodes["extract"].state) == ("group", "failed")
    edges = {(e.source, e.target) for e in graph.edges}
    assert edges == {
        ("begin", "extract"),
        ("extract", "finish"),
        ("begin", "items"),
        ("items", "each"),
        ("each", "finish"),
    }
    assert graph.groups == [] and graph.collapsed == ["extract"]


def test_collapsing_an_inner_group_keeps_it_in_its_parent_box(grouped: ServiceContext) -> None:
    graph = dag_graph(grouped, "grouped", collapsed=["extract.inner"])
    inner = next(n for n in graph.nodes if n.id == "extract.inner")
    assert (inner.label, inner.group, inner.state) == ("inner", "extract", None)
    assert [g.id for g in graph.groups] == ["extract"]
    assert graph.run_id is None  # no run yet: nothing to colour


def test_an_unknown_group_or_run_is_named(grouped: ServiceContext) -> None:
    with pytest.raises(InvalidRequestError, match="no task group 'load'"):
        dag_graph(grouped, "grouped", collapsed=["load"])
    with pytest.raises(NotFoundError, match="no run 'r9'"):
        dag_graph(grouped, "grouped", run_id="r9")


def test_docs_come_from_the_stored_structure(grouped: ServiceContext) -> None:
    docs = dag_docs(grouped, "grouped")
    assert docs.doc_md == "# Grouped\nLoads *users* and orders."
    assert [(t.task_id, t.doc_md) for t in docs.tasks] == [("extract.inner.orders", "Orders _doc_")]


def test_the_source_is_read_with_a_size_cap(grouped: ServiceContext, tmp_path: Path) -> None:
    source = get_dag_source(grouped, "grouped")
    assert source.file == str(tmp_path / "grouped" / "dags.py")
    assert 'TaskGroup("extract"' in source.source and not source.truncated
    cut = get_dag_source(grouped, "grouped", max_bytes=10)
    assert cut.truncated and cut.source == source.source[:10]
    Path(source.file).unlink()
    with pytest.raises(NotFoundError, match="the file of DAG 'grouped' cannot be read"):
        get_dag_source(grouped, "grouped")
