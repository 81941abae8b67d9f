"""The graph service returns edge labels (``Label``) on its edges, also when an edge goes
into a collapsed group, for a DAG stored by the DAG processor."""

from __future__ import annotations

from pathlib import Path

from headwater.services.context import ServiceContext
from headwater.services.dag_graph import dag_graph
from stored_dags import store_dags

LABELLED = """
from datetime import UTC, datetime
from headwater import DAG, Label, TaskGroup
from headwater.operators import EmptyOperator

with DAG("labelled", start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    check = EmptyOperator(task_id="check").as_setup()
    load = EmptyOperator(task_id="load")
    alert = EmptyOperator(task_id="alert").as_teardown(setups=check)
    with TaskGroup("publish") as publish:
        EmptyOperator(task_id="site")
    check >> Label("valid") >> load >> Label("tables ready") >> publish
    check >> Label("invalid") >> alert
"""


def test_the_graph_carries_each_edges_label(ctx: ServiceContext, tmp_path: Path) -> None:
    store_dags(ctx.store, tmp_path / "labelled", LABELLED)
    graph = dag_graph(ctx, "labelled")
    assert {(e.source, e.target): e.label for e in graph.edges} == {
        ("check", "load"): "valid",
        ("check", "alert"): "invalid",
        ("load", "publish.site"): "tables ready",
    }
    roles = {n.id: n.role for n in graph.nodes}
    assert roles == {"check": "setup", "load": None, "alert": "teardown", "publish.site": None}
    folded = dag_graph(ctx, "labelled", collapsed=["publish"])
    assert {(e.source, e.target): e.label for e in folded.edges}[("load", "publish")] == (
        "tables ready"
    )
