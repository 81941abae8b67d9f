"""The cross-DAG operators as DAG files define them: bad arguments refused naming the task, and
what the database keeps of an ExternalTaskMarker (clearing reads it, not the DAG file)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator, TriggerDagRunOperator
from headwater.sensors import ExternalTaskMarker

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_marker_keeps_its_target_in_the_stored_dag() -> None:
    with DAG("parent", start_date=START, schedule=None) as dag:
        EmptyOperator(task_id="load") >> ExternalTaskMarker(
            task_id="mark",
            external_dag_id="child",
            external_task_id="wait",
            logical_date="{{ ds }}T00:00:00+00:00",
            recursion_depth=3,
        )
    data = serialize_dag(dag)
    load, mark = data["dag"]["tasks"]
    assert "fields" not in load  # other tasks are stored as before
    assert mark["fields"] == {
        "external_dag_id": "child",
        "external_task_id": "wait",
        "logical_date": "{{ ds }}T00:00:00+00:00",
        "recursion_depth": 3,
    }
    rebuilt = deserialize_dag(data).task_dict["mark"]
    assert (rebuilt.external_dag_id, rebuilt.recursion_depth) == ("child", 3)  # type: ignore[attr-defined]


def test_bad_arguments_are_refused_naming_the_task() -> None:
    with pytest.raises(DagDefinitionError, match="'mark': recursion_depth must be a positive"):
        ExternalTaskMarker(
            task_id="mark", external_dag_id="c", external_task_id="w", recursion_depth=0
        )
    with pytest.raises(DagDefinitionError, match="'kick': allowed_states has 'done'"):
        TriggerDagRunOperator(task_id="kick", trigger_dag_id="c", allowed_states=["done"])
    with pytest.raises(DagDefinitionError, match="'kick': logical_date must be a datetime"):
        TriggerDagRunOperator(task_id="kick", trigger_dag_id="c", logical_date=20240101)  # type: ignore[arg-type]
    with pytest.raises(DagDefinitionError, match="'kick': poke_interval must be seconds"):
        TriggerDagRunOperator(task_id="kick", trigger_dag_id="c", poke_interval=-1)


def test_the_defaults_are_airflows() -> None:
    kick = TriggerDagRunOperator(task_id="kick", trigger_dag_id="c")
    assert (kick.allowed_states, kick.failed_states, kick.poke_interval) == (
        ["success"],
        ["failed"],
        60.0,
    )
    assert not (kick.wait_for_completion or kick.reset_dag_run or kick.deferrable)
    marker = ExternalTaskMarker(task_id="mark", external_dag_id="c", external_task_id="w")
    assert (marker.logical_date, marker.recursion_depth) == ("{{ logical_date.isoformat() }}", 10)
