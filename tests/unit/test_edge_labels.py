"""Edge labels: every way of writing ``Label`` puts the label on the right edges of the DAG,
and the labels survive serialization."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, Label, TaskGroup, task
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator

START = datetime(2024, 1, 1, tzinfo=UTC)


def labels(dag: DAG) -> dict[tuple[str, str], str]:
    return {
        (up, down): info["label"]
        for up, downs in dag.edge_info.items()
        for down, info in downs.items()
    }


def edges(dag: DAG) -> set[tuple[str, str]]:
    return {(t.task_id, d) for t in dag.task_dict.values() for d in t.downstream_task_ids}


def test_a_label_between_two_tasks_names_their_edge() -> None:
    with DAG("l", start_date=START) as dag:
        check, load, alert = (EmptyOperator(task_id=t) for t in ("check", "load", "alert"))
        check >> Label("valid") >> load
        alert << Label("invalid") << check
    assert edges(dag) == {("check", "load"), ("check", "alert")}
    assert labels(dag) == {("check", "load"): "valid", ("check", "alert"): "invalid"}
    assert dag.get_edge_info("check", "load") == {"label": "valid"}
    assert dag.get_edge_info("load", "check") == {}


def test_labels_with_lists_groups_references_and_set_downstream() -> None:
    with DAG("l", start_date=START) as dag:
        a, b, c = (EmptyOperator(task_id=t) for t in ("a", "b", "c"))
        [a, b] >> Label("both") >> c
        with TaskGroup("g") as group:
            EmptyOperator(task_id="x")
            EmptyOperator(task_id="y")
        c >> Label("into the group") >> group

        @task
        def made() -> int:
            return 1

        ref = made()
        ref >> Label("from a reference") >> a
        a.set_downstream(EmptyOperator(task_id="d"), edge_modifier=Label("direct"))
    assert labels(dag) == {
        ("a", "c"): "both",
        ("b", "c"): "both",
        ("c", "g.x"): "into the group",
        ("c", "g.y"): "into the group",
        ("made", "a"): "from a reference",
        ("a", "d"): "direct",
    }


def test_a_label_is_text_and_needs_a_dag() -> None:
    with pytest.raises(DagDefinitionError, match="an edge label must be text, got 3"):
        Label(3)  # type: ignore[arg-type]
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    with pytest.raises(DagDefinitionError, match="a label needs the tasks to be in a DAG"):
        a >> Label("x") >> b


def test_labels_survive_serialization_and_unlabelled_dags_store_none() -> None:
    with DAG("l", start_date=START) as dag:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> Label("then") >> b
    data = serialize_dag(dag)
    assert data["dag"]["edge_info"] == {"a": {"b": {"label": "then"}}}
    assert deserialize_dag(data).get_edge_info("a", "b") == {"label": "then"}

    with DAG("plain", start_date=START) as plain:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    assert "edge_info" not in serialize_dag(plain)["dag"]


def test_a_stored_label_on_a_missing_edge_is_malformed() -> None:
    with DAG("l", start_date=START) as dag:
        EmptyOperator(task_id="a") >> Label("then") >> EmptyOperator(task_id="b")
    data = serialize_dag(dag)
    data["dag"]["edge_info"] = {"b": {"a": {"label": "back"}}}
    with pytest.raises(Exception, match="edge 'b' -> 'a' has a label but is not an edge"):
        deserialize_dag(data)
