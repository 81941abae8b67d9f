"""The assets graph service: producing DAG → asset → consuming DAG, inlets, aliases, each
asset's last event and queue, each DAG's newest run; filters, the cut, hidden DAGs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from asset_graph_dags import FEATURES, store_asset_dags
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.operations.errors import InvalidRequestError
from headwater.services.asset_graph import AssetGraph, asset_graph
from headwater.services.context import ServiceContext
from stored_dags import scan_here, write_dags

WHEN = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def linked(ctx: ServiceContext, folder: Path) -> ServiceContext:
    store_asset_dags(ctx.store, folder)
    return ctx


def _edges(graph: AssetGraph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in graph.edges}


def test_dags_and_assets_with_their_events_queues_and_runs(linked: ServiceContext) -> None:
    ctx = linked
    ctx.store.create_asset_event(FEATURES, timestamp=WHEN, created_by="olga")
    run = DagRun("features", "r1", WHEN, WHEN, WHEN, run_type="scheduled")
    ctx.store.create_dag_run(run, [])
    graph = asset_graph(ctx)
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {
        f"asset:{FEATURES}",
        "alias:files",
        "dag:features",
        "dag:training",
        "dag:report",
        "dag:audit",
    }
    assert _edges(graph) == {
        ("dag:features", f"asset:{FEATURES}", "outlet"),
        (f"asset:{FEATURES}", "dag:training", "schedule"),
        (f"asset:{FEATURES}", "dag:report", "inlet"),
        ("alias:files", "dag:audit", "schedule"),
    }
    asset = nodes[f"asset:{FEATURES}"]
    assert (asset.label, asset.uri, asset.last_event_at) == ("features", FEATURES, WHEN)
    assert asset.queued_events == 1  # training has not consumed it; report only reads it
    assert asset.asset_id == ctx.store.get_asset_by_uri(FEATURES).id  # type: ignore[union-attr]
    assert (nodes["dag:features"].state, nodes["dag:training"].state) == ("queued", None)
    assert nodes["alias:files"].asset_id is None
    # data flows left to right
    assert nodes["dag:features"].x < asset.x < nodes["dag:training"].x
    assert not graph.truncated and graph.total_nodes == 6


def test_hidden_dags_are_left_out_with_their_edges_and_queues(linked: ServiceContext) -> None:
    linked.store.create_asset_event(FEATURES, timestamp=WHEN)
    graph = asset_graph(linked, visible={"features", "report"})
    assert {n.id for n in graph.nodes} == {"dag:features", f"asset:{FEATURES}", "dag:report"}
    assert ("dag:features", f"asset:{FEATURES}", "outlet") in _edges(graph)
    assert all("training" not in e.target for e in graph.edges)
    asset = next(n for n in graph.nodes if n.kind == "asset")
    assert asset.queued_events == 0  # the queued event is training's, which is hidden
    assert asset_graph(linked, visible={"report"}, dag_id="training").nodes == []


def test_filters_by_asset_prefix_or_around_one_dag(linked: ServiceContext) -> None:
    by_name = asset_graph(linked, asset_prefix="FEAT")
    assert {n.id for n in by_name.nodes} == {
        f"asset:{FEATURES}",
        "dag:features",
        "dag:training",
        "dag:report",
    }
    assert {n.id for n in asset_graph(linked, asset_prefix="s3://lake/").nodes} == {
        n.id for n in by_name.nodes
    }
    assert {n.id for n in asset_graph(linked, asset_prefix="fil").nodes} == {
        "alias:files",
        "dag:audit",
    }
    assert asset_graph(linked, asset_prefix="nothing").nodes == []
    around = asset_graph(linked, dag_id="report")
    assert around.nodes[0].id == "dag:report"
    assert {n.id for n in around.nodes} == {n.id for n in by_name.nodes}
    assert asset_graph(linked, dag_id="etl").nodes == []  # a DAG without assets
    assert asset_graph(linked, dag_id="missing").nodes == []


def test_a_graph_larger_than_its_limit_is_cut_and_says_so(linked: ServiceContext) -> None:
    graph = asset_graph(linked, limit=3)
    # the alias comes first ("files" < "s3://..."), with its DAG; the asset's group of four
    # does not fit, so it is left out whole
    assert [n.id for n in graph.nodes] == ["alias:files", "dag:audit"]
    assert graph.truncated and graph.total_nodes == 6
    assert _edges(graph) == {("alias:files", "dag:audit", "schedule")}
    with pytest.raises(InvalidRequestError, match="limit must be between 1 and 500, not 0"):
        asset_graph(linked, limit=0)


def test_an_asset_no_dag_names_still_shows(ctx: ServiceContext) -> None:
    ctx.store.create_asset_event("file:///tmp/drop.csv", timestamp=WHEN, create=True)
    (node,) = asset_graph(ctx).nodes
    assert (node.kind, node.uri, node.last_event_at, node.queued_events) == (
        "asset",
        "file:///tmp/drop.csv",
        WHEN,
        0,
    )
    assert asset_graph(ctx).edges == []


def test_the_run_state_is_the_newest_runs(linked: ServiceContext) -> None:
    for day, state in ((1, DagRunState.FAILED), (2, DagRunState.SUCCESS)):
        date = datetime(2024, 1, day, tzinfo=UTC)
        run = DagRun("training", f"r{day}", date, date, date, run_type="scheduled", state=state)
        linked.store.create_dag_run(run, [])
    node = next(n for n in asset_graph(linked).nodes if n.id == "dag:training")
    assert node.state == "success"


LOOP_DAG = """
from datetime import UTC, datetime
from headwater import DAG, Asset
from headwater.operators import EmptyOperator

LOG = Asset("s3://lake/log.parquet")

with DAG("append", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    EmptyOperator(task_id="append", inlets=[LOG], outlets=[LOG])
"""


def test_a_dag_reading_what_it_produces_gets_both_edges(ctx: ServiceContext, folder: Path) -> None:
    write_dags(folder, LOOP_DAG, name="loop.py")
    assert not scan_here(ctx.store, folder).errors
    graph = asset_graph(ctx)
    log = "asset:s3://lake/log.parquet"
    assert _edges(graph) == {("dag:append", log, "outlet"), (log, "dag:append", "inlet")}
    back = next(e for e in graph.edges if e.kind == "inlet")
    box = next(n for n in graph.nodes if n.id == "dag:append")
    # drawn as a loop under the boxes, inside the drawing
    assert back.points[-1] == (box.x + box.width / 2, box.y + box.height)
    assert box.y + box.height < back.points[1][1] < graph.height
