"""A DAG's graph: its tasks and task groups laid out left to right by
:func:`~headwater.services.graph_layout.layered_layout`, coloured by one run's states.

A collapsed group is one node standing for all its tasks: edges into or out of its tasks
end at it, and its state is the one standing for theirs. An expanded group is a box drawn
around its members. Example::

    graph = dag_graph(ctx, "etl", collapsed=["extract"])
    [n.id for n in graph.nodes]   # tasks outside "extract", and "extract"
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from headwater.authoring.edges import edge_label
from headwater.services._schema import Schema
from headwater.services.dag_structure import (
    GroupInfo,
    aggregate_state,
    group_chain,
    groups_of,
    load_structure,
    task_label,
)
from headwater.services.graph_layout import LayoutEdge, LayoutNode, layered_layout
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import DagRun
    from headwater.services.context import ServiceContext

NODE_HEIGHT = 40.0
GROUP_PADDING = 10.0
GROUP_HEADER = 18.0


class GraphNode(Schema):
    """A task, or a collapsed group, as a box at ``(x, y)`` (its top-left corner)."""

    id: str
    label: str
    kind: Literal["task", "group"]
    operator: str | None
    mapped: bool
    state: str | None
    """Its state in the selected run (a collapsed group's: the one standing for its tasks);
    None without a run, or when the run has no instance of it."""
    group: str | None
    """The innermost expanded group it is drawn in."""
    role: Literal["setup", "teardown"] | None = None
    """A setup or teardown task (see ``authoring/setup_teardown.py``); None otherwise."""
    x: float
    y: float
    width: float
    height: float


class GraphGroup(Schema):
    """An expanded task group: a box around its members, with its label on top."""

    id: str
    label: str
    parent: str | None
    state: str | None
    x: float
    y: float
    width: float
    height: float


class GraphEdge(Schema):
    """An arrow: ``points`` from the source's right side to the target's left side."""

    source: str
    target: str
    label: str | None
    points: list[tuple[float, float]]


class DagGraph(Schema):
    dag_id: str
    run_id: str | None
    """The run whose states colour the nodes: the one asked for, else the newest."""
    run_state: str | None
    collapsed: list[str]
    width: float
    height: float
    nodes: list[GraphNode]
    groups: list[GraphGroup]
    edges: list[GraphEdge]


def node_width(label: str) -> float:
    """A box wide enough for ``label`` in the graph's font (about 7 px a character)."""
    return float(min(260, max(110, 7 * len(label) + 28)))


def dag_graph(
    ctx: ServiceContext,
    dag_id: str,
    *,
    run_id: str | None = None,
    collapsed: Iterable[str] = (),
) -> DagGraph:
    """The graph of ``dag_id`` with the groups ``collapsed`` (their ids) each drawn as one
    node, coloured by run ``run_id`` (default: the newest run, if any). An unknown run or
    group is an error that names it."""
    from headwater.operations import require_run
    from headwater.operations.errors import InvalidRequestError
    from headwater.services.dags import operator_name

    _, dag = load_structure(ctx, dag_id)
    groups = groups_of(dag)
    folded = sorted(set(collapsed))
    for group_id in folded:
        if group_id not in groups:
            known = ", ".join(groups) or "none"
            raise InvalidRequestError(
                f"collapsed: DAG {quoted(dag_id)} has no task group {quoted(group_id)} "
                f"(its groups: {known})"
            )
    run: DagRun | None
    if run_id is not None:
        run = require_run(ctx.store, dag_id, run_id)
    else:
        newest = ctx.store.list_dag_runs_before(dag_id, None, 1)
        run = newest[0] if newest else None
    states: dict[str, list[str]] = defaultdict(list)
    if run is not None:
        for ti in ctx.store.get_task_instances(dag_id, run.run_id):
            states[ti.task_id].append(ti.state.value)

    tasks = dag.topological_sort()
    shown_as = {task.task_id: _shown_as(task, set(folded)) for task in tasks}
    nodes: dict[str, GraphNode] = {}
    member_states: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        chain = group_chain(task)
        for group_id in chain:
            member_states[group_id].extend(states.get(task.task_id, []))
        shown = shown_as[task.task_id]
        if shown in nodes:
            continue
        if shown == task.task_id:
            label = task_label(task)
            inner = chain[-1] if chain else None
            node = _node(shown, label, "task", operator_name(task), task.is_mapped, inner)
            nodes[shown] = node.model_copy(update={"role": _role(task)})
        else:
            group = groups[shown]
            nodes[shown] = _node(shown, group.label, "group", None, False, group.parent)
    for node_id, node in nodes.items():
        found = member_states.get(node_id) if node.kind == "group" else states.get(node_id)
        nodes[node_id] = node.model_copy(update={"state": aggregate_state(found or [])})

    edges = _edges(dag, tasks, shown_as)
    nesting = max((len(group_chain(t)) for t in tasks), default=0)
    layout = layered_layout(
        [LayoutNode(n.id, n.width, n.height) for n in nodes.values()],
        edges,
        layer_gap=layer_gap(edges),
        node_gap=48.0,
        margin=16.0 + nesting * (GROUP_PADDING + GROUP_HEADER),
    )
    placed = []
    for box in layout.nodes:
        placed.append(nodes[box.id].model_copy(update={"x": box.x, "y": box.y}))
    boxes = _group_boxes(placed, groups, folded, member_states)
    width = max([layout.width, *(g.x + g.width + GROUP_PADDING for g in boxes)])
    height = max([layout.height, *(g.y + g.height + GROUP_PADDING for g in boxes)])
    return DagGraph(
        dag_id=dag_id,
        run_id=run.run_id if run is not None else None,
        run_state=run.state.value if run is not None else None,
        collapsed=folded,
        width=width,
        height=height,
        nodes=placed,
        groups=boxes,
        edges=[
            GraphEdge(source=e.source, target=e.target, label=e.label, points=list(e.points))
            for e in layout.edges
        ],
    )


def layer_gap(edges: list[LayoutEdge]) -> float:
    """Room between layers: 64 px, or enough for the longest edge label (up to 220 px),
    which is drawn in that gap."""
    longest = max((len(e.label) for e in edges if e.label), default=0)
    return float(min(220, max(64, 7 * longest + 24)))


def _edges(dag: DAG, tasks: list[BaseOperator], shown_as: dict[str, str]) -> list[LayoutEdge]:
    """The arrows between the nodes, each with the label of its edge (``Label``); an arrow
    that stands for several edges (into or out of a collapsed group) takes the first label
    among them."""
    labels: dict[tuple[str, str], str | None] = {}
    for task in tasks:
        for down in sorted(task.downstream_task_ids):
            key = (shown_as[task.task_id], shown_as[down])
            if key[0] != key[1] and labels.get(key) is None:
                labels[key] = edge_label(dag.get_edge_info(task.task_id, down))
    return [LayoutEdge(source, target, label) for (source, target), label in labels.items()]


def _shown_as(task: BaseOperator, folded: set[str]) -> str:
    """The node ``task`` is drawn as: its outermost collapsed group, else itself."""
    return next((g for g in group_chain(task) if g in folded), task.task_id)


def _role(task: BaseOperator) -> Literal["setup", "teardown"] | None:
    return "setup" if task.is_setup else "teardown" if task.is_teardown else None


def _node(
    node_id: str,
    label: str,
    kind: Literal["task", "group"],
    operator: str | None,
    mapped: bool,
    group: str | None,
) -> GraphNode:
    return GraphNode(
        id=node_id,
        label=label,
        kind=kind,
        operator=operator,
        mapped=mapped,
        state=None,
        group=group,
        x=0.0,
        y=0.0,
        width=node_width(label),
        height=NODE_HEIGHT,
    )


def _group_boxes(
    nodes: list[GraphNode],
    groups: dict[str, GroupInfo],
    folded: list[str],
    member_states: dict[str, list[str]],
) -> list[GraphGroup]:
    """A box around each expanded group's nodes (and inner groups' boxes), innermost
    first so each outer box holds the inner ones; outermost first in the answer."""

    def depth(group_id: str) -> int:
        parent = groups[group_id].parent
        return 0 if parent is None else depth(parent) + 1

    def hidden(group_id: str) -> bool:
        info: GroupInfo | None = groups[group_id]
        while info is not None:
            if info.group_id in folded:
                return True
            info = groups[info.parent] if info.parent is not None else None
        return False

    rects: dict[str, tuple[float, float, float, float]] = {}
    for group_id in sorted(groups, key=depth, reverse=True):
        if hidden(group_id):
            continue
        inside = [(n.x, n.y, n.x + n.width, n.y + n.height) for n in nodes if n.group == group_id]
        inside += [r for child, r in rects.items() if groups[child].parent == group_id]
        if not inside:
            continue
        left = min(r[0] for r in inside) - GROUP_PADDING
        top = min(r[1] for r in inside) - GROUP_PADDING - GROUP_HEADER
        right = max(r[2] for r in inside) + GROUP_PADDING
        bottom = max(r[3] for r in inside) + GROUP_PADDING
        rects[group_id] = (left, top, right, bottom)
    return [
        GraphGroup(
            id=group_id,
            label=groups[group_id].label,
            parent=groups[group_id].parent,
            state=aggregate_state(member_states.get(group_id, [])),
            x=max(rect[0], 0.0),
            y=max(rect[1], 0.0),
            width=rect[2] - max(rect[0], 0.0),
            height=rect[3] - max(rect[1], 0.0),
        )
        for group_id, rect in sorted(rects.items(), key=lambda item: depth(item[0]))
    ]
