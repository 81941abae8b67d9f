"""The layered layout of the graph view: layers follow edges, boxes never overlap, crossings
are reduced (never worse than the input order), long edges bend through dummy points, and
the same input always gives the same drawing."""

from __future__ import annotations

import itertools

import pytest

from headwater.services.graph_layout import (
    Layout,
    LayoutEdge,
    LayoutNode,
    count_crossings,
    layered_layout,
)


def _nodes(*ids: str) -> list[LayoutNode]:
    return [LayoutNode(i, 100, 30) for i in ids]


def _edges(*pairs: str) -> list[LayoutEdge]:
    return [LayoutEdge(*pair.split(">")) for pair in pairs]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _assert_no_overlap(layout: Layout) -> None:
    boxes = [(n.x, n.y, n.width, n.height) for n in layout.nodes]
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)


def _layers(layout: Layout) -> list[list[str]]:
    """The real nodes of each layer, top to bottom."""
    depth = max(n.layer for n in layout.nodes) + 1
    return [
        [n.id for n in sorted(layout.nodes, key=lambda n: n.y) if n.layer == k]
        for k in range(depth)
    ]


def test_every_edge_points_to_a_later_layer_and_to_the_right() -> None:
    layout = layered_layout(
        _nodes("extract", "clean", "load", "report", "audit"),
        _edges("extract>clean", "clean>load", "load>report", "extract>audit", "audit>report"),
    )
    layer = {n.id: n.layer for n in layout.nodes}
    assert layer == {"extract": 0, "clean": 1, "load": 2, "report": 3, "audit": 1}
    for edge in layout.edges:
        assert layout.node(edge.source).x < layout.node(edge.target).x
        assert edge.points[0][0] == layout.node(edge.source).x + 100  # leaves on the right
        assert edge.points[-1][0] == layout.node(edge.target).x  # arrives on the left


def test_a_long_edge_bends_through_one_point_per_layer_it_skips() -> None:
    layout = layered_layout(_nodes("a", "b", "c", "d"), _edges("a>b", "b>c", "c>d", "a>d"))
    long_edge = next(e for e in layout.edges if (e.source, e.target) == ("a", "d"))
    assert len(long_edge.points) == 4  # a's port, 2 bends (layers 1 and 2), d's port
    xs = [x for x, _ in long_edge.points]
    assert xs == sorted(xs)


def test_boxes_never_overlap_on_a_wide_graph() -> None:
    ids = ["root", *(f"t{i}" for i in range(12)), "end"]
    edges = [f"root>t{i}" for i in range(12)] + [f"t{i}>end" for i in range(12)]
    layout = layered_layout(_nodes(*ids), _edges(*edges))
    _assert_no_overlap(layout)
    assert layout.width >= max(n.x + n.width for n in layout.nodes)
    assert layout.height >= max(n.y + n.height for n in layout.nodes)


def test_crossings_of_a_badly_ordered_input_are_removed() -> None:
    # Input order a1, a2 / b2, b1 with a1>b1 and a2>b2: one crossing as given.
    nodes = _nodes("a1", "a2", "b2", "b1")
    edges = _edges("a1>b1", "a2>b2")
    assert count_crossings([["a1", "a2"], ["b2", "b1"]], [("a1", "b1"), ("a2", "b2")]) == 1
    layout = layered_layout(nodes, edges)
    assert layout.crossings == 0
    assert _layers(layout)[1] == ["b1", "b2"]


@pytest.mark.parametrize("seed", range(6))
def test_crossings_are_never_worse_than_the_input_order(seed: int) -> None:
    # Known graphs: 3 x 4 x 3 layers; each node right of the first layer has an upstream in
    # the layer before (so the layers are fixed), plus edges chosen by the seed.
    left, middle, right = ["l0", "l1", "l2"], ["m0", "m1", "m2", "m3"], ["r0", "r1", "r2"]
    pairs = {(left[(j * 2 + seed) % 3], m) for j, m in enumerate(middle)}
    pairs |= {(middle[(k + seed) % 4], r) for k, r in enumerate(right)}
    pairs |= {
        (u, v)
        for i, (u, v) in enumerate(itertools.product(left, middle))
        if (i * (seed + 3)) % 5 == 0
    }
    pairs |= {
        (u, v) for i, (u, v) in enumerate(itertools.product(middle, right)) if i % (seed + 2) == 0
    }
    pairs = sorted(pairs)
    layout = layered_layout(_nodes(*left, *middle, *right), [LayoutEdge(u, v) for u, v in pairs])
    as_given = count_crossings([left, middle, right], pairs)
    assert layout.crossings <= as_given
    assert count_crossings(_layers(layout), pairs) == layout.crossings
    _assert_no_overlap(layout)


def test_the_same_input_gives_the_same_layout() -> None:
    nodes = _nodes("a", "b", "c", "d", "e", "f")
    edges = _edges("a>d", "b>c", "c>f", "a>e", "e>f", "b>d", "d>f")
    assert layered_layout(nodes, edges) == layered_layout(nodes, edges)


def test_a_cycle_is_laid_out_with_the_back_edge_drawn_from_its_source() -> None:
    # Collapsing a group can make one: group -> t -> group.
    layout = layered_layout(_nodes("group", "t", "u"), _edges("group>t", "t>u", "u>group"))
    assert [layout.node(n).layer for n in ("group", "t", "u")] == [0, 1, 2]
    back = next(e for e in layout.edges if e.source == "u")
    assert back.target == "group"
    assert back.points[0] == (layout.node("u").x, layout.node("u").y + 15)
    assert back.points[-1] == (layout.node("group").x + 100, layout.node("group").y + 15)


def test_a_pair_of_opposite_edges_is_drawn_once() -> None:
    layout = layered_layout(_nodes("a", "b"), _edges("a>b", "b>a"))
    assert [(e.source, e.target) for e in layout.edges] == [("a", "b")]


def test_an_edge_to_an_unknown_node_is_refused() -> None:
    with pytest.raises(ValueError, match="no node 'ghost'"):
        layered_layout(_nodes("a"), _edges("a>ghost"))


def test_an_empty_graph_has_an_empty_layout() -> None:
    layout = layered_layout([], [])
    assert layout.nodes == () and layout.edges == () and layout.crossings == 0


def test_labels_travel_with_their_edges() -> None:
    layout = layered_layout(_nodes("a", "b"), [LayoutEdge("a", "b", "on success")])
    assert layout.edges[0].label == "on success"
