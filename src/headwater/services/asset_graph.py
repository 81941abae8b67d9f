"""The assets graph: assets and the DAGs around them, laid out left to right by
:func:`~headwater.services.graph_layout.layered_layout` (the DAG graph's layout).

Nodes are assets, asset aliases and DAGs; an edge goes from a DAG to each asset one of its
tasks produces (``outlet``), and from an asset (or alias) to each DAG scheduled on it
(``schedule``) or whose tasks read it (``inlet``, drawn dashed). So data flows left to
right: producing DAG → asset → consuming DAG. An asset node carries its last event's time
and how many events wait in its consumers' queues (one per consuming DAG and event); a DAG
node its newest run's state.

DAGs the caller may not see (``visible``) are left out with their edges and queued events;
assets are everyone's, as on the assets pages. A graph is bounded: at most ``limit`` nodes,
filtered by a prefix of the assets' URIs or names, or to one DAG and its neighbours (the
assets it touches and the DAGs on the other side of them); ``total_nodes`` and
``truncated`` say when a page shows fewer than the filter keeps. Example::

    graph = asset_graph(ctx, dag_id="features")
    [n.id for n in graph.nodes]  # "dag:features", "asset:s3://b/features", "dag:training"
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from headwater.operations.errors import InvalidRequestError
from headwater.services._schema import IsoDatetime, Schema
from headwater.services.graph_layout import Layout, LayoutEdge, LayoutNode, layered_layout
from headwater.store.assets import (
    INLET,
    OUTLET,
    SCHEDULE,
    SCHEDULE_ALIAS,
    AssetEventFilter,
    AssetRow,
)

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
ASSET_HEIGHT = 56.0
"""An asset's box: its name, its last event, its queue; 14 px more for its URI when its
name is not its URI."""
DAG_HEIGHT = 40.0
ASSET_MIN_WIDTH = 200.0
"""Room for ``last: 2024-01-01 00:00 UTC``."""

NodeKind = Literal["asset", "alias", "dag"]
EdgeKind = Literal["outlet", "schedule", "inlet"]


class AssetGraphNode(Schema):
    """An asset, an asset alias or a DAG, as a box at ``(x, y)`` (its top-left corner).

    ``id`` is ``asset:<uri>``, ``alias:<name>`` or ``dag:<dag_id>``."""

    id: str
    kind: NodeKind
    label: str
    asset_id: int | None
    """An asset's id (its page is ``/assets/{asset_id}``)."""
    uri: str | None
    """An asset's URI, or an alias's name."""
    dag_id: str | None
    state: str | None
    """A DAG's newest run's state; None for an asset, or a DAG without runs."""
    last_event_at: IsoDatetime | None
    """When an asset's newest event happened."""
    queued_events: int
    """Events of an asset (or recorded through an alias) that DAGs scheduled on it have not
    consumed yet: one per consuming DAG and event."""
    x: float
    y: float
    width: float
    height: float


class AssetGraphEdge(Schema):
    """``outlet``: a DAG produces an asset; ``schedule``: a DAG is scheduled on an asset or
    alias; ``inlet``: a DAG's task reads an asset. ``points`` run left to right."""

    source: str
    target: str
    kind: EdgeKind
    points: list[tuple[float, float]]


class AssetGraph(Schema):
    asset_prefix: str | None
    dag_id: str | None
    limit: int
    total_nodes: int
    """How many nodes the filter keeps; more than ``len(nodes)`` when the graph was cut."""
    truncated: bool
    width: float
    height: float
    nodes: list[AssetGraphNode]
    edges: list[AssetGraphEdge]


@dataclass
class _Links:
    """Who touches what: each asset or alias node's DAG neighbours, and the edges' kinds."""

    anchors: dict[str, str] = field(default_factory=dict)
    """Asset and alias node ids, to the URI or name they stand for."""
    neighbours: dict[str, set[str]] = field(default_factory=dict)
    kinds: dict[tuple[str, str], EdgeKind] = field(default_factory=dict)

    def link(self, anchor: str, dag: str, kind: EdgeKind) -> None:
        self.neighbours.setdefault(anchor, set()).add(dag)
        self.neighbours.setdefault(dag, set()).add(anchor)
        key = (dag, anchor) if kind == OUTLET else (anchor, dag)
        if self.kinds.get(key) != SCHEDULE:  # scheduled on it and reading it: schedule
            self.kinds[key] = kind


def asset_graph(
    ctx: ServiceContext,
    *,
    visible: Collection[str] | None = None,
    asset_prefix: str | None = None,
    dag_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AssetGraph:
    """The graph of the assets whose URI or name starts with ``asset_prefix`` (any case), or
    of DAG ``dag_id`` and its neighbours (both: the neighbours among those assets), with the
    DAGs among ``visible`` (None: all) linked to them; at most ``limit`` nodes."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    prefix = (asset_prefix or "").strip().casefold() or None
    rows = {row.uri: row for row in ctx.store.list_assets()}
    links = _Links()
    for row in rows.values():
        links.anchors[f"asset:{row.uri}"] = row.uri
    for ref in ctx.store.list_dag_asset_references():
        if visible is not None and ref.dag_id not in visible:
            continue
        anchor = f"alias:{ref.uri}" if ref.kind == SCHEDULE_ALIAS else f"asset:{ref.uri}"
        links.anchors.setdefault(anchor, ref.uri)
        kind: EdgeKind = "schedule" if ref.kind == SCHEDULE_ALIAS else _edge_kind(ref.kind)
        links.link(anchor, f"dag:{ref.dag_id}", kind)

    def matches(anchor: str) -> bool:
        if prefix is None:
            return True
        row = rows.get(links.anchors[anchor]) if anchor.startswith("asset:") else None
        names = [links.anchors[anchor], *([row.name] if row is not None else [])]
        return any(name.casefold().startswith(prefix) for name in names)

    focus = f"dag:{dag_id}" if dag_id else None
    around = links.neighbours.get(focus, set()) if focus is not None else set()
    anchors = sorted(
        (a for a in links.anchors if focus is None or a in around),
        key=lambda a: (links.anchors[a], a),
    )
    anchors = [a for a in anchors if matches(a)]
    # A DAG that touches no asset (or that the caller may not see) has an empty graph.
    wanted: set[str] = {focus} if focus is not None and around else set()
    shown: list[str] = list(wanted)
    placed: set[str] = set(shown)
    for anchor in anchors:
        # an asset comes with all its DAGs or not at all: no edge is cut halfway
        group = [anchor, *sorted(links.neighbours.get(anchor, set()))]
        wanted.update(group)
        new = [n for n in group if n not in placed]
        if len(shown) + len(new) <= limit:
            shown.extend(new)
            placed.update(new)
    total = len(wanted)
    nodes = _nodes(ctx, shown, links, rows, visible)
    # Outlets first: where a DAG also reads (or waits for) what it produces, the layout
    # keeps the first of the two opposite edges, and producer → asset is the one that
    # places them.
    edges = [
        LayoutEdge(source, target)
        for (source, target) in sorted(links.kinds, key=lambda k: (links.kinds[k] != "outlet", k))
        if source in placed and target in placed
    ]
    layout = layered_layout(
        [LayoutNode(n.id, n.width, n.height) for n in nodes], edges, layer_gap=72.0, node_gap=28.0
    )
    boxes = {box.id: box for box in layout.nodes}
    routed = [(e.source, e.target, list(e.points)) for e in layout.edges]
    routed += _back_edges(layout, edges)
    lowest = max((y for *_, points in routed for _, y in points), default=0.0)
    return AssetGraph(
        asset_prefix=asset_prefix or None,
        dag_id=dag_id or None,
        limit=limit,
        total_nodes=total,
        truncated=total > len(shown),
        width=layout.width,
        height=max(layout.height, lowest + 16.0),
        nodes=[n.model_copy(update={"x": boxes[n.id].x, "y": boxes[n.id].y}) for n in nodes],
        edges=[
            AssetGraphEdge(
                source=source,
                target=target,
                kind=links.kinds[(source, target)],
                points=points,
            )
            for source, target, points in routed
        ],
    )


def _back_edges(
    layout: Layout, edges: list[LayoutEdge]
) -> list[tuple[str, str, list[tuple[float, float]]]]:
    """The edges the layout left out because the opposite edge is drawn (a DAG reading or
    waiting for an asset it produces): each a loop under both boxes, from the bottom of its
    source to the bottom of its target."""
    drawn = {(e.source, e.target) for e in layout.edges}
    boxes = {box.id: box for box in layout.nodes}
    loops = []
    for edge in edges:
        if (edge.source, edge.target) in drawn:
            continue
        source, target = boxes[edge.source], boxes[edge.target]
        start = (source.x + source.width / 2, source.y + source.height)
        end = (target.x + target.width / 2, target.y + target.height)
        low = max(start[1], end[1]) + 18.0
        loops.append((edge.source, edge.target, [start, ((start[0] + end[0]) / 2, low), end]))
    return loops


def _edge_kind(kind: str) -> EdgeKind:
    if kind == OUTLET:
        return "outlet"
    return "inlet" if kind == INLET else "schedule"


def node_width(label: str, uri: str | None = None) -> float:
    """A box wide enough for ``label`` (about 7 px a character in bold) and ``uri`` (about
    6.5 px in the smaller monospaced line), at least :data:`ASSET_MIN_WIDTH` for an asset,
    never wider than 300 px (longer text is cut in the middle)."""
    if uri is None:
        return float(min(300, max(130, 7 * len(label) + 28)))
    wanted = max(7 * len(label) + 28, 6.5 * len(uri) + 28, ASSET_MIN_WIDTH)
    return float(min(300, wanted))


def _height(kind: str, label: str, name: str) -> float:
    if kind == "dag":
        return DAG_HEIGHT
    return ASSET_HEIGHT + (14.0 if label != name else 0.0)


def _nodes(
    ctx: ServiceContext,
    ids: list[str],
    links: _Links,
    rows: dict[str, AssetRow],
    visible: Collection[str] | None,
) -> list[AssetGraphNode]:
    """The nodes ``ids`` with their facts: one read for the DAGs' newest runs, one for the
    queues, one per asset for its newest event."""
    dag_ids = [node[len("dag:") :] for node in ids if node.startswith("dag:")]
    latest = ctx.store.latest_dag_runs(dag_ids, 1)
    by_asset: Counter[int] = Counter()
    by_alias: Counter[str] = Counter()
    for queued in ctx.store.queued_asset_events():
        if visible is not None and queued.dag_id not in visible:
            continue
        by_asset[queued.asset_id] += 1
        if queued.alias is not None:
            by_alias[queued.alias] += 1
    nodes = []
    for node_id in ids:
        kind, _, name = node_id.partition(":")
        asset = rows.get(name) if kind == "asset" else None
        last: datetime | None = None
        if asset is not None:
            newest = ctx.store.list_asset_events(
                AssetEventFilter(asset_id=asset.id), newest_first=True, limit=1
            )
            last = newest[0].timestamp if newest else None
        runs = latest.get(name, []) if kind == "dag" else []
        label = asset.name if asset is not None and asset.name else name
        nodes.append(
            AssetGraphNode(
                id=node_id,
                kind="asset" if kind == "asset" else "alias" if kind == "alias" else "dag",
                label=label,
                asset_id=asset.id if asset is not None else None,
                uri=links.anchors.get(node_id),
                dag_id=name if kind == "dag" else None,
                state=runs[0].state if runs else None,
                last_event_at=last,
                queued_events=(by_asset[asset.id] if asset is not None else by_alias.get(name, 0)),
                x=0.0,
                y=0.0,
                width=node_width(label, None if kind == "dag" else name),
                height=_height(kind, label, name),
            )
        )
    return nodes
