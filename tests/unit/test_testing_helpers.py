"""headwater.testing: run one task, logs layout, safe ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, task
from headwater.engine.records import TaskInstanceKey
from headwater.exceptions import HeadwaterError
from headwater.operators import EmptyOperator
from headwater.runtime.logs import attempt_log_path
from headwater.testing import run_task

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_run_task_ignores_upstreams() -> None:
    with DAG("single", start_date=START) as dag:

        @task
        def upstream() -> int:
            raise AssertionError("must not run")

        @task
        def target(value, ds) -> str:
            return f"{value}-{ds}"

        target(upstream()) >> EmptyOperator(task_id="downstream")
    result = run_task(dag, "target", logical_date=datetime(2024, 7, 1, tzinfo=UTC))
    assert result.succeeded
    assert result.xcom("target") == "None-2024-07-01"
    assert result.task_states == {"target": "success", "upstream": "none", "downstream": "none"}


def test_run_task_of_a_mapped_task_picks_the_map_index() -> None:
    with DAG("single_mapped", start_date=START) as dag:

        @task
        def echo(x: str) -> str:
            return x

        echo.expand(x=["a", "b"])
    assert run_task(dag, "echo", map_index=1).xcom("echo", map_index=1) == "b"
    assert run_task(dag, "echo").xcom("echo", map_index=0) == "a"  # -1 picks instance 0


def test_run_task_of_a_task_mapped_over_an_upstream_says_so() -> None:
    with DAG("mapped_over_upstream", start_date=START) as dag:

        @task
        def names() -> list[str]:
            return ["a"]

        @task
        def echo(x: str) -> str:
            return x

        echo.expand(x=names())
    with pytest.raises(HeadwaterError, match=r"mapped over the output of upstream task.*'names'"):
        run_task(dag, "echo")


def test_log_paths(tmp_path) -> None:
    key = TaskInstanceKey("dag", "manual__2024-01-01T00:00:00+00:00", "group.task", 3)
    assert attempt_log_path(tmp_path, key, 2) == str(
        tmp_path
        / "dag_id=dag"
        / "run_id=manual__2024-01-01T00:00:00+00:00"
        / "task_id=group.task"
        / "map_index=3"
        / "attempt=2.log"
    )


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "..", "x\\y", ""])
def test_ids_cannot_escape_the_logs_folder(tmp_path, run_id: str) -> None:
    with pytest.raises(HeadwaterError, match="cannot name a log folder"):
        attempt_log_path(tmp_path, TaskInstanceKey("dag", run_id, "t"), 1)


def test_a_hostile_run_id_is_refused_before_anything_runs() -> None:
    with DAG("hostile", start_date=START) as dag:
        EmptyOperator(task_id="t")
    from headwater.testing import run_dag

    with pytest.raises(HeadwaterError, match=r"run_id '../../etc' is not valid"):
        run_dag(dag, run_id="../../etc")


def test_result_accessors_for_tasks_that_never_ran() -> None:
    with DAG("never", start_date=START) as dag:

        @task
        def nothing() -> list[int]:
            return []

        @task
        def each(x: int) -> int:
            return x

        last = EmptyOperator(task_id="last")
        each.expand(x=nothing()) >> EmptyOperator(task_id="middle") >> last
    result = run_task(dag, "nothing")
    assert result.xcom("each") == []
    assert list(result.task_states) == ["nothing", "each", "middle", "last"]
    with pytest.raises(KeyError, match=r"task 'last' \(map_index -1\) never ran"):
        result.rendered("last")
    with pytest.raises(KeyError, match="has no try 7"):
        result.log("nothing", try_number=7)
