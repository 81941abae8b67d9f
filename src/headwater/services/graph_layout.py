"""A layered (Sugiyama-style) layout of a directed graph, left to right: pure functions, no I/O.

The graph view draws a DAG's tasks with it; the steps are the classic ones:

1. **Cycles** are broken by reversing the edges a depth-first search finds going back (a
   DAG has none, but collapsing a task group can make one: ``group -> t -> group``). A
   reversed edge is laid out forwards and drawn from its real source to its real target.
2. **Layers** by longest path: a node sits one layer right of its furthest-right upstream,
   so every edge points right.
3. **Dummy nodes** split an edge spanning several layers into one-layer steps; they become
   the bends of the drawn edge, which keeps long edges out of other nodes' way.
4. **Crossing reduction**: barycenter sweeps (each node moves to the mean position of its
   neighbours in the layer before, then after), keeping the order with the fewest
   crossings seen, starting from the input order, so the result is never worse than it.
5. **Coordinates**: layers are columns as wide as their widest node; within a column nodes
   keep their order, each pulled towards the mean height of its upstream neighbours without
   overlapping the one above.

Everything is deterministic: ties keep the input order. Example::

    layout = layered_layout(
        [LayoutNode("a", 120, 36), LayoutNode("b", 120, 36)], [LayoutEdge("a", "b")]
    )
    layout.node("b").x  # > layout.node("a").x
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

DUMMY_PREFIX = "\x00dummy:"
"""Ids of dummy nodes start with this (no task or group id can)."""


@dataclass(frozen=True)
class LayoutNode:
    """A box to place: its id and size."""

    id: str
    width: float
    height: float


@dataclass(frozen=True)
class LayoutEdge:
    """An arrow from ``source`` to ``target``, with an optional label."""

    source: str
    target: str
    label: str | None = None


@dataclass(frozen=True)
class PlacedNode:
    """A node's box: top-left corner ``(x, y)``, its size, and its layer (column)."""

    id: str
    x: float
    y: float
    width: float
    height: float
    layer: int


@dataclass(frozen=True)
class RoutedEdge:
    """An edge's polyline from the right side of its source to the left side of its target,
    through the dummy nodes of a long edge."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    label: str | None = None


@dataclass(frozen=True)
class Layout:
    """Placed nodes (input order), routed edges, and the size of the whole drawing."""

    nodes: tuple[PlacedNode, ...]
    edges: tuple[RoutedEdge, ...]
    width: float
    height: float
    crossings: int
    """Edge crossings between adjacent layers in the chosen order."""

    def node(self, node_id: str) -> PlacedNode:
        return next(n for n in self.nodes if n.id == node_id)


def layered_layout(
    nodes: Sequence[LayoutNode],
    edges: Sequence[LayoutEdge],
    *,
    layer_gap: float = 64.0,
    node_gap: float = 20.0,
    margin: float = 16.0,
    sweeps: int = 12,
) -> Layout:
    """Place ``nodes`` in layers left to right so that ``edges`` point right (see the module
    docstring). Edges to unknown nodes raise ``ValueError``; self-loops and repeated edges
    are dropped."""
    index = {n.id: i for i, n in enumerate(nodes)}
    if len(index) != len(nodes):
        raise ValueError("node ids must be unique")
    clean = _clean_edges(edges, index)
    forward = _acyclic(list(index), clean)
    layer = _longest_path_layers(list(index), forward)
    layers, chains = _with_dummies(list(index), forward, layer)
    adjacency = _adjacent_pairs(chains)
    ordered, crossings = _reduce_crossings(layers, adjacency, sweeps)
    sizes = {n.id: (n.width, n.height) for n in nodes}
    boxes, width, height = _coordinates(ordered, adjacency, sizes, layer_gap, node_gap, margin)
    placed = tuple(
        PlacedNode(n.id, *boxes[n.id][:2], n.width, n.height, layer[n.id]) for n in nodes
    )
    routed = []
    for edge in clean:
        key = (edge.source, edge.target)
        reverse = key not in chains
        chain = chains[(edge.target, edge.source)] if reverse else chains[key]
        points = [_port(boxes, sizes, chain[0], "right")]
        points += [_centre(boxes, dummy) for dummy in chain[1:-1]]
        points.append(_port(boxes, sizes, chain[-1], "left"))
        if reverse:
            points.reverse()
        routed.append(RoutedEdge(edge.source, edge.target, tuple(points), edge.label))
    return Layout(placed, tuple(routed), width, height, crossings)


def count_crossings(layers: Sequence[Sequence[str]], edges: Sequence[tuple[str, str]]) -> int:
    """Crossings of ``edges`` (each between two adjacent layers, left to right) when each
    layer is in the given order."""
    position = {node: i for layer in layers for i, node in enumerate(layer)}
    layer_of = {node: k for k, layer in enumerate(layers) for node in layer}
    between: dict[int, list[tuple[int, int]]] = {}
    for u, v in edges:
        if layer_of[v] == layer_of[u] + 1:
            between.setdefault(layer_of[u], []).append((position[u], position[v]))
    return sum(_inversions([v for _, v in sorted(pairs)]) for pairs in between.values())


def _inversions(values: list[int]) -> int:
    seen: list[int] = []
    count = 0
    for value in values:
        count += len(seen) - bisect.bisect_right(seen, value)
        bisect.insort(seen, value)
    return count


def _clean_edges(edges: Sequence[LayoutEdge], index: dict[str, int]) -> list[LayoutEdge]:
    seen: set[tuple[str, str]] = set()
    clean = []
    for edge in edges:
        for end in (edge.source, edge.target):
            if end not in index:
                raise ValueError(f"edge {edge.source!r} -> {edge.target!r}: no node {end!r}")
        key = (edge.source, edge.target)
        if edge.source == edge.target or key in seen or key[::-1] in seen:
            continue
        seen.add(key)
        clean.append(edge)
    return clean


def _acyclic(nodes: list[str], edges: list[LayoutEdge]) -> list[tuple[str, str]]:
    """The edges with each back edge of a depth-first search (in input order) reversed."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in edges:
        out[edge.source].append(edge.target)
    state = dict.fromkeys(nodes, 0)  # 0 new, 1 on the path, 2 done
    back: set[tuple[str, str]] = set()
    for root in nodes:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                back.add((node, child))
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return [
        (e.target, e.source) if (e.source, e.target) in back else (e.source, e.target)
        for e in edges
    ]


def _longest_path_layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    upstream: dict[str, list[str]] = {n: [] for n in nodes}
    downstream: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in edges:
        upstream[v].append(u)
        downstream[u].append(v)
    waiting = {n: len(upstream[n]) for n in nodes}
    ready = [n for n in nodes if waiting[n] == 0]
    layer = dict.fromkeys(nodes, 0)
    while ready:
        node = ready.pop(0)
        for down in downstream[node]:
            layer[down] = max(layer[down], layer[node] + 1)
            waiting[down] -= 1
            if waiting[down] == 0:
                ready.append(down)
    return layer


def _with_dummies(
    nodes: list[str], edges: list[tuple[str, str]], layer: dict[str, int]
) -> tuple[list[list[str]], dict[tuple[str, str], list[str]]]:
    """The layers (input order, dummies after the nodes) and each edge's chain of nodes."""
    depth = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for node in nodes:
        layers[layer[node]].append(node)
    chains: dict[tuple[str, str], list[str]] = {}
    for u, v in edges:
        chain = [u]
        for k in range(layer[u] + 1, layer[v]):
            dummy = f"{DUMMY_PREFIX}{u}\x00{v}\x00{k}"
            layers[k].append(dummy)
            chain.append(dummy)
        chain.append(v)
        chains[(u, v)] = chain
    return layers, chains


def _adjacent_pairs(chains: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    return [(chain[i], chain[i + 1]) for chain in chains.values() for i in range(len(chain) - 1)]


def _reduce_crossings(
    layers: list[list[str]], pairs: list[tuple[str, str]], sweeps: int
) -> tuple[list[list[str]], int]:
    upstream: dict[str, list[str]] = {}
    downstream: dict[str, list[str]] = {}
    for u, v in pairs:
        downstream.setdefault(u, []).append(v)
        upstream.setdefault(v, []).append(u)
    best = [list(layer) for layer in layers]
    best_count = count_crossings(best, pairs)
    current = [list(layer) for layer in best]
    for sweep in range(sweeps):
        if best_count == 0:
            break
        down = sweep % 2 == 0
        order = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for k in order:
            fixed = current[k - 1] if down else current[k + 1]
            neighbours = upstream if down else downstream
            current[k] = _by_barycenter(current[k], fixed, neighbours)
        count = count_crossings(current, pairs)
        if count < best_count:
            best, best_count = [list(layer) for layer in current], count
    return best, best_count


def _by_barycenter(
    layer: list[str], fixed: list[str], neighbours: dict[str, list[str]]
) -> list[str]:
    """``layer`` sorted by the mean position of each node's neighbours in ``fixed``; a node
    without any keeps its own position as its key (and ties keep the current order)."""
    position = {node: i for i, node in enumerate(fixed)}
    scale = len(fixed) / max(len(layer), 1)

    def key(item: tuple[int, str]) -> tuple[float, int]:
        i, node = item
        linked = [position[n] for n in neighbours.get(node, []) if n in position]
        return (sum(linked) / len(linked) if linked else i * scale, i)

    return [node for _, node in sorted(enumerate(layer), key=key)]


def _coordinates(
    layers: list[list[str]],
    pairs: list[tuple[str, str]],
    sizes: dict[str, tuple[float, float]],
    layer_gap: float,
    node_gap: float,
    margin: float,
) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Top-left corners of every node (dummies are points) and the drawing's size."""
    upstream: dict[str, list[str]] = {}
    for u, v in pairs:
        upstream.setdefault(v, []).append(u)
    size = {n: sizes.get(n, (0.0, 0.0)) for layer in layers for n in layer}
    boxes: dict[str, tuple[float, float]] = {}
    x = margin
    for layer in layers:
        column = max((size[n][0] for n in layer), default=0.0)
        below = margin  # the lowest y the next node may take
        for node in layer:
            w, h = size[node]
            linked = [boxes[u][1] + size[u][1] / 2 for u in upstream.get(node, []) if u in boxes]
            wanted = sum(linked) / len(linked) - h / 2 if linked else below
            y = max(wanted, below)
            boxes[node] = (x + (column - w) / 2, y)
            below = y + h + node_gap
        x += column + layer_gap
    width = max((boxes[n][0] + size[n][0] for n in boxes), default=0.0) + margin
    height = max((boxes[n][1] + size[n][1] for n in boxes), default=0.0) + margin
    return boxes, width, height


def _centre(boxes: dict[str, tuple[float, float]], node: str) -> tuple[float, float]:
    x, y = boxes[node]
    return (x, y)


def _port(
    boxes: dict[str, tuple[float, float]],
    sizes: dict[str, tuple[float, float]],
    node: str,
    side: str,
) -> tuple[float, float]:
    x, y = boxes[node]
    w, h = sizes[node]
    return (x + w if side == "right" else x, y + h / 2)
