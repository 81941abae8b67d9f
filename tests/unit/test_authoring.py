"""Describing DAGs: dependencies, groups, ids, validation errors. Nothing here runs a task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, TaskGroup, chain, cross_downstream, dag, task, task_group
from headwater.exceptions import (
    CycleError,
    DagDefinitionError,
    DuplicateTaskIdError,
    InvalidScheduleError,
)
from headwater.operators import EmptyOperator

START = datetime(2024, 1, 1, tzinfo=UTC)


def ups(d: DAG, task_id: str) -> set[str]:
    return set(d.get_task(task_id).upstream_task_ids)


def test_shift_operators_and_lists() -> None:
    with DAG("deps", start_date=START) as d:
        a, b, c, e = (EmptyOperator(task_id=n) for n in "abce")
        a >> [b, c]
        e << b
        [b, c] >> EmptyOperator(task_id="join")
        EmptyOperator(task_id="first") >> a
    assert ups(d, "b") == {"a"} and ups(d, "c") == {"a"}
    assert ups(d, "e") == {"b"}
    assert ups(d, "join") == {"b", "c"}
    assert ups(d, "a") == {"first"}
    assert [t.task_id for t in d.roots] == ["first"]


def test_chain_and_cross_downstream() -> None:
    with DAG("chains", start_date=START) as d:
        t = {n: EmptyOperator(task_id=n) for n in ["a", "b", "c", "d", "e", "f", "x", "y"]}
        chain(t["a"], [t["b"], t["c"]], [t["d"], t["e"]], t["f"])
        cross_downstream([t["x"], t["y"]], [t["a"], t["f"]])
    assert ups(d, "d") == {"b"} and ups(d, "e") == {"c"}
    assert ups(d, "f") == {"d", "e", "x", "y"}
    assert ups(d, "a") == {"x", "y"}
    with DAG("bad_chain", start_date=START), pytest.raises(DagDefinitionError, match="lengths 2"):
        chain(
            [EmptyOperator(task_id="p"), EmptyOperator(task_id="q")], [EmptyOperator(task_id="r")]
        )


def test_task_groups_prefix_ids_and_connect_as_endpoints() -> None:
    with DAG("groups", start_date=START) as d:
        start = EmptyOperator(task_id="start")
        with TaskGroup("extract") as extract:
            a = EmptyOperator(task_id="a")
            with TaskGroup("inner"):
                b = EmptyOperator(task_id="b")
            a >> b
        with TaskGroup("load") as load:
            EmptyOperator(task_id="x")
            EmptyOperator(task_id="y")
        start >> extract >> load
    assert b.task_id == "extract.inner.b"
    assert ups(d, "extract.a") == {"start"}
    assert ups(d, "load.x") == {"extract.inner.b"}
    assert ups(d, "load.y") == {"extract.inner.b"}


def test_task_group_decorator_and_taskflow_ids() -> None:
    with DAG("tg", start_date=START) as d:

        @task
        def clean(x: int) -> int:
            return x

        @task_group
        def stage(x: int):
            return clean(clean(x))

        stage(1)
        stage(2)
    assert d.task_ids == ["stage.clean", "stage.clean__1", "stage__1.clean", "stage__1.clean__1"]
    assert ups(d, "stage__1.clean__1") == {"stage__1.clean"}


def test_taskflow_reuses_a_function_with_unique_ids() -> None:
    with DAG("reuse", start_date=START) as d:

        @task
        def step() -> None: ...

        step() >> step() >> step.override(task_id="custom")()
    assert d.task_ids == ["step", "step__1", "custom"]
    assert ups(d, "custom") == {"step__1"}


def test_dag_decorator_builds_a_dag_with_params_from_defaults() -> None:
    @dag(schedule="@daily", start_date=START, tags=["etl"])
    def etl(region: str = "eu"):
        """Load the region's data."""

        @task
        def extract() -> int:
            return 1

        extract()

    built = etl()
    assert built.dag_id == "etl"
    assert built.params["region"].default == "eu"
    assert built.doc_md == "Load the region's data."
    assert built.tags == ["etl"]
    assert built.fileloc == __file__
    assert etl().params["region"].default == "eu"  # building twice works the same


def test_duplicate_task_id() -> None:
    with (
        DAG("dup", start_date=START),
        pytest.raises(DuplicateTaskIdError, match="DAG 'dup' already has a task with id 'a'"),
    ):
        EmptyOperator(task_id="a")
        EmptyOperator(task_id="a")


def test_cycle_is_named() -> None:
    with DAG("cyclic", start_date=START) as d:
        a, b, c = (EmptyOperator(task_id=n) for n in "abc")
        a >> b >> c >> a
    with pytest.raises(CycleError, match=r"DAG 'cyclic' has a cycle: a -> b -> c -> a"):
        d.validate()


def test_self_dependency_is_refused() -> None:
    with DAG("selfdep", start_date=START):
        a = EmptyOperator(task_id="a")
        with pytest.raises(DagDefinitionError, match="cannot depend on itself"):
            a >> a


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 25 * * *", "invalid cron expression '0 25 \\* \\* \\*'"),
        ("every day", "invalid cron expression 'every day'"),
        ("@fortnightly", "unknown schedule preset '@fortnightly'"),
        (timedelta(0), "must be positive"),
        (42, "schedule must be None, a cron string"),
    ],
)
def test_bad_schedules(schedule, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        DAG("bad_schedule", schedule=schedule, start_date=START)


def test_naive_start_date_is_refused() -> None:
    with pytest.raises(DagDefinitionError, match="start_date 2024-01-01T00:00:00 has no timezone"):
        DAG("naive", start_date=datetime(2024, 1, 1))


@pytest.mark.parametrize("bad", ["", "has space", "semi;colon", "slash/id", "x" * 251])
def test_bad_ids(bad: str) -> None:
    with pytest.raises(DagDefinitionError):
        DAG(bad, start_date=START)


def test_bad_operator_arguments_name_the_task() -> None:
    with DAG("args", start_date=START):
        with pytest.raises(DagDefinitionError, match="task 'r': retries must be an int >= 0"):
            EmptyOperator(task_id="r", retries=-1)
        with pytest.raises(DagDefinitionError, match="retry_delay must be a timedelta"):
            EmptyOperator(task_id="d", retry_delay="soon")


def test_tasks_of_different_dags_cannot_depend_on_each_other() -> None:
    with DAG("one", start_date=START):
        a = EmptyOperator(task_id="a")
    with DAG("two", start_date=START):
        b = EmptyOperator(task_id="b")
    with pytest.raises(DagDefinitionError, match="different DAGs"):
        a >> b


def test_references_cannot_be_iterated_at_definition_time() -> None:
    with DAG("iter", start_date=START):

        @task
        def rows() -> list[int]:
            return [1]

        with pytest.raises(TypeError, match="not known while the DAG is being defined"):
            list(rows())


def test_schedule_intervals() -> None:
    from headwater.authoring.schedules import parse_schedule

    daily = parse_schedule("@daily")
    assert daily.interval_for(datetime(2024, 3, 5, 6, tzinfo=UTC)) == (
        datetime(2024, 3, 5, tzinfo=UTC),
        datetime(2024, 3, 6, tzinfo=UTC),
    )
    assert daily.next_interval(datetime(2024, 3, 5, 0, 1, tzinfo=UTC)) == (
        datetime(2024, 3, 6, tzinfo=UTC),
        datetime(2024, 3, 7, tzinfo=UTC),
    )
    hourly = parse_schedule("15 * * * *")
    assert hourly.interval_for(datetime(2024, 3, 5, 6, 15, tzinfo=UTC)) == (
        datetime(2024, 3, 5, 6, 15, tzinfo=UTC),
        datetime(2024, 3, 5, 7, 15, tzinfo=UTC),
    )
    assert parse_schedule(None).next_interval(START) is None
