"""A task's ``weight_rule`` (Airflow's): the weight its instances are ordered by is its own
(``absolute``, headwater's default), or its own plus its downstream tasks' (``downstream``,
Airflow's default, which Airflow DAG files get) or upstream tasks' (``upstream``), each task
counted once; it survives the DAG's serialization, so the scheduler's runs get it too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, WeightRule
from headwater.airflow_compat.dag import DAG as AirflowDAG
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator

START = datetime(2024, 1, 1, tzinfo=UTC)


def _diamond(dag: DAG, **rule: str) -> None:
    """a >> (b, c) >> d, weights 1, 2, 3, 4."""
    with dag:
        a = EmptyOperator(task_id="a", priority_weight=1, **rule)
        b = EmptyOperator(task_id="b", priority_weight=2, **rule)
        c = EmptyOperator(task_id="c", priority_weight=3, **rule)
        d = EmptyOperator(task_id="d", priority_weight=4, **rule)
        a >> [b, c] >> d


def _run_weights(dag: DAG) -> dict[str, int]:
    """The priority weight of each instance of a new run of ``dag``, built from its
    serialized form as the scheduler builds runs."""
    from headwater.engine.run_factory import new_task_instances

    stored = deserialize_dag(serialize_dag(dag))
    run = DagRun(dag.dag_id, "r1", START, START, START, state=DagRunState.QUEUED)
    return {ti.task_id: ti.priority_weight for ti in new_task_instances(stored, run)}


def test_a_tasks_own_weight_by_default_in_headwater() -> None:
    dag = DAG("absolute", start_date=START)
    _diamond(dag)
    assert dag.get_task("a").weight_rule is WeightRule.ABSOLUTE
    assert _run_weights(dag) == {"a": 1, "b": 2, "c": 3, "d": 4}


def test_downstream_adds_every_downstream_task_once() -> None:
    dag = DAG("downstream", start_date=START)
    _diamond(dag, weight_rule="downstream")
    # a: 1 + b 2 + c 3 + d 4 (d reached twice, counted once)
    assert _run_weights(dag) == {"a": 10, "b": 6, "c": 7, "d": 4}


def test_upstream_adds_every_upstream_task_once() -> None:
    dag = DAG("upstream", start_date=START, default_args={"weight_rule": WeightRule.UPSTREAM})
    _diamond(dag)
    assert _run_weights(dag) == {"a": 1, "b": 3, "c": 4, "d": 10}


def test_airflow_dags_get_airflows_default_downstream() -> None:
    dag = AirflowDAG("airflow_style", start_date=START)
    _diamond(dag)
    assert _run_weights(dag) == {"a": 10, "b": 6, "c": 7, "d": 4}
    explicit = AirflowDAG("airflow_absolute", start_date=START)
    _diamond(explicit, weight_rule="absolute")
    assert _run_weights(explicit) == {"a": 1, "b": 2, "c": 3, "d": 4}


def test_the_sum_is_clamped_to_32_bits() -> None:
    with DAG("heavy", start_date=START) as dag:
        first = EmptyOperator(task_id="first", priority_weight=2**31 - 1, weight_rule="downstream")
        first >> EmptyOperator(task_id="second", priority_weight=2**31 - 1)
    assert _run_weights(dag)["first"] == 2**31 - 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "sideways",
            "task 't': weight_rule 'sideways' is not one of 'absolute', 'downstream', 'upstream'",
        ),
        (
            "plugins.strategies.DecreasingPriority",
            "task 't': weight_rule 'plugins.strategies.DecreasingPriority' is a custom priority "
            "weight strategy, which headwater does not support",
        ),
    ],
)
def test_an_unknown_rule_or_a_custom_strategy_is_refused_naming_the_task(
    value: str, message: str
) -> None:
    with pytest.raises(DagDefinitionError, match=message.replace(".", r"\.")):
        EmptyOperator(task_id="t", weight_rule=value)
