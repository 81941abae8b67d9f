"""Mapped task groups: ``@task_group`` functions with ``.expand()``, ``.partial()`` and
``.expand_kwargs()``; per-index dependencies and references inside the group, every index
for what follows it, zero elements, and the errors for what is not supported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headwater import DAG, task, task_group
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError, MappingError
from headwater.operators import BashOperator, EmptyOperator
from headwater.testing import run_dag, run_task

START = datetime(2024, 1, 1, tzinfo=UTC)


def _states(result: Any, prefix: str) -> dict[str, str]:
    return {k: v for k, v in result.task_states.items() if k.startswith(prefix)}


def test_every_task_of_the_group_runs_once_per_element_and_reads_its_own_index() -> None:
    with DAG("per_index", start_date=START) as dag:

        @task
        def double(x: int) -> int:
            return 2 * x

        @task
        def label(value: int, x: int, ti: Any = None) -> str:
            return f"{x}->{value}@{ti.map_index}"

        @task_group
        def process(x: int) -> Any:
            return label(double(x), x)

        @task
        def collect(values: list[str]) -> list[str]:
            return values

        collect(process.expand(x=[1, 2, 3]))
    result = run_dag(dag)
    assert result.succeeded
    assert result.xcom("process.double") == [2, 4, 6]
    assert result.xcom("process.label", map_index=2) == "3->6@2"
    assert result.xcom("collect") == ["1->2@0", "2->4@1", "3->6@2"]
    assert _states(result, "process.label") == {
        "process.label[0]": "success",
        "process.label[1]": "success",
        "process.label[2]": "success",
    }


def test_a_failed_index_fails_only_its_own_downstream_in_the_group() -> None:
    with DAG("one_fails", start_date=START) as dag:

        @task
        def check(x: int) -> int:
            if x == 2:
                raise ValueError("bad element 2")
            return x

        @task
        def publish(x: int) -> int:
            return x * 10

        @task_group
        def pipeline(x: int) -> Any:
            return publish(check(x))

        end = EmptyOperator(task_id="end", trigger_rule="all_done")
        strict = EmptyOperator(task_id="strict")
        pipeline.expand(x=[1, 2, 3]) >> [end, strict]
    result = run_dag(dag)
    assert _states(result, "pipeline.publish") == {
        "pipeline.publish[0]": "success",
        "pipeline.publish[1]": "upstream_failed",
        "pipeline.publish[2]": "success",
    }
    assert result.state_of("pipeline.check", 1) == "failed"
    assert result.state_of("end") == "success"  # waited for every index
    assert result.state_of("strict") == "upstream_failed"
    assert result.xcom("pipeline.publish") == [10, 30]


def test_an_index_runs_as_soon_as_its_own_upstream_is_done() -> None:
    """Index 0 of the second task does not wait for index 1 of the first."""
    with DAG("eager", start_date=START) as dag:

        @task
        def first(x: int) -> int:
            if x == 1:
                raise ValueError("index 1 fails")
            return x

        @task(trigger_rule="all_done")
        def second(x: int) -> int:
            return x

        @task_group
        def g(x: int) -> None:
            first(x) >> second(x)

        g.expand(x=[0, 1])
    result = run_dag(dag)
    assert result.state_of("g.second", 0) == "success"
    assert result.state_of("g.second", 1) == "success"  # all_done: its own upstream failed
    assert result.state_of("g.first", 1) == "failed"


def test_partial_and_an_upstream_output() -> None:
    with DAG("partial_upstream", start_date=START) as dag:

        @task
        def files() -> list[str]:
            return ["a.csv", "b.csv"]

        @task
        def load(path: str, table: str) -> str:
            return f"{table}<-{path}"

        @task_group
        def ingest(path: str, table: str) -> Any:
            return load(path, table)

        ingest.partial(table="raw").expand(path=files())
    result = run_dag(dag)
    assert result.xcom("ingest.load") == ["raw<-a.csv", "raw<-b.csv"]
    assert dag.get_task("ingest.load").upstream_task_ids == {"files"}


def test_expand_kwargs_and_a_classic_operator_with_a_template() -> None:
    with DAG("kwargs_group", start_date=START) as dag:

        @task_group
        def greet(name: str, greeting: str = "hello") -> None:
            BashOperator(task_id="say", bash_command=name)
            EmptyOperator(task_id="noop")

        greet.expand_kwargs([{"name": "echo hi {{ map_index }}"}, {"name": "echo yo"}])
    result = run_dag(dag)
    assert result.xcom("greet.say") == ["hi 0", "yo"]
    assert result.state_of("greet.noop", 1) == "success"


def test_zero_elements_skip_the_group_and_what_needs_it() -> None:
    with DAG("empty_group", start_date=START) as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def a(x: int) -> int:
            return x

        @task
        def b(x: int) -> int:
            return x

        @task_group
        def g(x: int) -> Any:
            return b(a(x))

        g.expand(x=nothing()) >> EmptyOperator(task_id="after")
    result = run_dag(dag)
    assert result.task_states == {
        "nothing": "success",
        "g.a": "skipped",
        "g.b": "skipped",
        "after": "skipped",
    }
    assert result.succeeded


def test_a_cross_product_over_two_arguments() -> None:
    with DAG("cross_group", start_date=START) as dag:

        @task
        def pair(a: int, b: str) -> str:
            return f"{a}{b}"

        @task_group
        def g(a: int, b: str) -> Any:
            return pair(a, b)

        g.expand(a=[1, 2], b=["x", "y"])
    assert run_dag(dag).xcom("g.pair") == ["1x", "1y", "2x", "2y"]


def test_tasks_test_runs_one_index_of_a_group_task() -> None:
    with DAG("one_index", start_date=START) as dag:

        @task
        def square(x: int) -> int:
            return x * x

        @task_group
        def g(x: int) -> Any:
            return square(x)

        g.expand(x=[3, 4])
    result = run_task(dag, "g.square", map_index=1)
    assert result.xcom("g.square", map_index=1) == 16


def test_the_group_survives_serialization() -> None:
    with DAG("stored", start_date=START) as dag:

        @task
        def files() -> list[str]:
            return ["a"]

        @task
        def a(x: str) -> str:
            return x

        @task
        def b(x: str) -> str:
            return x

        @task_group
        def g(x: str) -> Any:
            return b(a(x))

        g.expand(x=files())
    data = serialize_dag(dag)
    rebuilt = deserialize_dag(data)
    assert rebuilt.task_groups["g"].is_mapped
    inner = rebuilt.get_task("g.b")
    assert inner.is_mapped
    assert getattr(inner, "mapped_group", None) is rebuilt.task_groups["g"]
    assert rebuilt.get_task("g.a").upstream_task_ids == {"files"}
    assert serialize_dag(rebuilt) == data


def test_an_unknown_argument_names_the_group_and_the_argument() -> None:
    with DAG("unknown", start_date=START):

        @task_group
        def g(x: int) -> None:
            EmptyOperator(task_id="t")

        with pytest.raises(
            DagDefinitionError, match=r"task group 'g': expand\(\) got argument 'y'"
        ):
            g.expand(y=[1])
        with pytest.raises(DagDefinitionError, match=r"expand\(\) needs at least one"):
            g.partial().expand()

        @task_group
        def two(x: int, y: int) -> None:
            EmptyOperator(task_id="t")

        with pytest.raises(DagDefinitionError, match=r"'two': argument 'y' is given neither"):
            two.expand(x=[1])


def test_a_mapped_group_inside_a_mapped_group_is_refused() -> None:
    with DAG("nested", start_date=START):

        @task_group
        def inner(y: int) -> None:
            EmptyOperator(task_id="t")

        @task_group
        def outer(x: int) -> None:
            inner.expand(y=[1, 2])

        with pytest.raises(
            MappingError, match=r"'outer.inner' is inside mapped task group 'outer'"
        ):
            outer.expand(x=[1])


def test_mapping_a_task_over_a_group_argument_is_refused() -> None:
    with DAG("task_in_group", start_date=START):

        @task
        def t(v: int) -> int:
            return v

        @task_group
        def g(x: list[int]) -> None:
            t.expand(v=x)

        with pytest.raises(MappingError, match=r"argument 'x' of mapped task group 'g'"):
            g.expand(x=[[1, 2]])


def test_a_mapped_task_inside_a_mapped_group_is_refused() -> None:
    with DAG("mapped_in_group", start_date=START):

        @task
        def t(v: int) -> int:
            return v

        @task_group
        def g(x: int) -> None:
            t.expand(v=[1, 2])

        with pytest.raises(MappingError, match=r"inside mapped task group 'g'"):
            g.expand(x=[1])


def test_ti_xcom_pull_of_a_task_in_the_same_mapped_group_reads_this_index() -> None:
    with DAG("pull_in_group", start_date=START) as dag:

        @task
        def square(x: int) -> int:
            return x * x

        @task
        def read_back(ti: Any = None) -> Any:
            # By task id, as Airflow code does: this index's value, not the whole list.
            return ti.xcom_pull(task_ids="process.square")

        @task_group
        def process(x: int) -> Any:
            return square(x) >> read_back()

        @task
        def read_all(ti: Any = None) -> Any:
            return ti.xcom_pull(task_ids="process.square")

        process.expand(x=[2, 3]) >> read_all()
    result = run_dag(dag)
    assert result.succeeded
    assert [result.xcom("process.read_back", map_index=i) for i in (0, 1)] == [4, 9]
    assert result.xcom("read_all") == [4, 9]  # outside the group: every index
