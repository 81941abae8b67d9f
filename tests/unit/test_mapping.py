"""Dynamic task mapping: literal and runtime inputs, partial, expand_kwargs, zero items, reduce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, task
from headwater.exceptions import MappingError
from headwater.operators import BashOperator, EmptyOperator, PythonOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_expand_over_a_literal_list_and_reduce_in_order() -> None:
    with DAG("literal", start_date=START) as dag:

        @task
        def square(x: int) -> int:
            return x * x

        @task
        def total(values: list[int]) -> list[int]:
            return values

        total(square.expand(x=[3, 1, 2]))
    result = run_dag(dag)
    assert result.succeeded
    assert result.xcom("total") == [9, 1, 4]
    assert result.xcom("square") == [9, 1, 4]
    assert result.xcom("square", map_index=1) == 1
    assert [label for label in result.task_states if label.startswith("square")] == [
        "square[0]",
        "square[1]",
        "square[2]",
    ]


def test_expand_over_an_upstream_output_at_run_time() -> None:
    with DAG("runtime", start_date=START) as dag:

        @task
        def files() -> list[str]:
            return ["a.csv", "b.csv"]

        @task
        def size(path: str, ti) -> str:
            return f"{path}@{ti.map_index}"

        size.expand(path=files())
    result = run_dag(dag)
    assert result.xcom("size") == ["a.csv@0", "b.csv@1"]
    assert "Starting attempt 1 of 1: runtime.size[1]" in result.log("size", map_index=1)


def test_partial_and_cross_product() -> None:
    with DAG("cross", start_date=START) as dag:

        @task
        def combine(prefix: str, a: int, b: str) -> str:
            return f"{prefix}{a}{b}"

        combine.partial(prefix="#").expand(a=[1, 2], b=["x", "y"])
    result = run_dag(dag)
    assert result.xcom("combine") == ["#1x", "#1y", "#2x", "#2y"]


def test_expand_kwargs_over_runtime_dicts() -> None:
    with DAG("kwargs", start_date=START) as dag:

        @task
        def configs() -> list[dict]:
            return [{"name": "a", "n": 1}, {"name": "b", "n": 2}]

        @task
        def describe(name: str, n: int) -> str:
            return name * n

        describe.expand_kwargs(configs())
    result = run_dag(dag)
    assert result.xcom("describe") == ["a", "bb"]


def test_mapping_a_classic_operator_with_templates() -> None:
    with DAG("classic", start_date=START) as dag:
        BashOperator.partial(task_id="echo", retries=1).expand(
            bash_command=["echo one {{ ds }}", "echo two {{ map_index }}"]
        )
    result = run_dag(dag, logical_date=datetime(2024, 2, 3, tzinfo=UTC))
    assert result.xcom("echo") == ["one 2024-02-03", "two 1"]
    assert result.ti("echo", 0).max_tries == 2
    assert result.rendered("echo", 1)["bash_command"] == "echo two 1"


def test_mapping_over_zero_items_skips_the_task_and_its_downstream() -> None:
    with DAG("empty", start_date=START) as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def work(x: int) -> int:
            return x

        work.expand(x=nothing()) >> EmptyOperator(task_id="after")
    result = run_dag(dag)
    assert result.task_states == {"nothing": "success", "work": "skipped", "after": "skipped"}
    assert result.succeeded


def test_mapping_over_a_runtime_non_list_fails_with_a_clear_error() -> None:
    with DAG("not_list", start_date=START) as dag:

        @task
        def scalar() -> int:
            return 42

        @task
        def work(x: int) -> int:
            return x

        work.expand(x=scalar())
    result = run_dag(dag)
    assert result.state == "failed"
    assert result.state_of("work") == "failed"
    assert result.ti("work").error == (
        "task 'work': cannot map over x: the value is a int (42), not a list or dict"
    )


def test_mapping_over_a_literal_non_list_is_a_definition_error() -> None:
    with DAG("bad_literal", start_date=START):

        @task
        def work(x: int) -> int:
            return x

        with pytest.raises(MappingError, match=r"task 'work': cannot map over x=5"):
            work.expand(x=5)


def test_mapping_over_a_dict_gives_key_value_pairs() -> None:
    with DAG("dict_map", start_date=START) as dag:

        @task
        def pair(item: tuple) -> str:
            key, value = item
            return f"{key}={value}"

        pair.expand(item={"a": 1, "b": 2})
    assert run_dag(dag).xcom("pair") == ["a=1", "b=2"]


def test_one_failed_mapped_instance_fails_downstream_but_not_siblings() -> None:
    with DAG("partial_failure", start_date=START) as dag:

        @task
        def check(x: int) -> int:
            if x == 2:
                raise ValueError("bad row 2")
            return x

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        total(check.expand(x=[1, 2, 3]))
    result = run_dag(dag)
    assert result.task_states == {
        "check[0]": "success",
        "check[1]": "failed",
        "check[2]": "success",
        "total": "upstream_failed",
    }


def test_classic_operator_output_feeds_a_mapped_task() -> None:
    with DAG("classic_output", start_date=START) as dag:
        make = PythonOperator(task_id="make", python_callable=lambda: [1, 2])

        @task
        def double(x: int) -> int:
            return 2 * x

        double.expand(x=make.output)
    assert run_dag(dag).xcom("double") == [2, 4]


def test_values_from_upstream_tasks_are_not_templated_but_literals_are() -> None:
    with DAG("no_render", start_date=START) as dag:

        @task
        def names() -> list[str]:
            return ["{{ ds }}", "plain"]

        @task
        def echo(name: str) -> str:
            return name

        @task
        def pairs() -> list[dict]:
            return [{"name": "{{ ds }}"}]

        echo.expand(name=names())
        echo(names())
        echo.expand(name=["{{ ds }}"])
        echo.expand_kwargs(pairs())

        @task
        def commands() -> list[str]:
            return ["echo '{{ ds }}'", "echo plain"]

        BashOperator.partial(task_id="bash").expand(bash_command=commands())
    result = run_dag(dag, logical_date=datetime(2024, 1, 31, tzinfo=UTC))
    assert result.xcom("echo") == ["{{ ds }}", "plain"]
    assert result.xcom("echo__1") == ["{{ ds }}", "plain"]
    assert result.xcom("echo__2") == ["2024-01-31"]
    assert result.xcom("echo__3") == ["{{ ds }}"]
    # A command from another task runs as given: bash sees the braces literally.
    assert result.xcom("bash") == ["{{ ds }}", "plain"]
