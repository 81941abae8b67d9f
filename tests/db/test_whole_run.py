"""The real proof: whole DAG runs through the engine on the SQL store, read back afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater import DAG, task
from headwater.clock import FakeClock
from headwater.dag_test import run_dag_in_process
from headwater.engine.records import TaskInstanceKey
from headwater.operators import EmptyOperator
from headwater.settings import Settings
from headwater.store.sql import SqlStore

START = datetime(2024, 1, 1, tzinfo=UTC)


def _pipeline() -> DAG:
    failures = {"square": 0}

    with DAG("pipeline", start_date=START, params={"limit": 10}) as dag:

        @task
        def extract() -> list[int]:
            return [1, 2, 3]

        @task(retries=2, retry_delay=timedelta(seconds=30))
        def square(x: int) -> int:
            if x == 2 and failures["square"] == 0:
                failures["square"] += 1
                raise RuntimeError("flaky")
            return x * x

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        @task.branch
        def choose(value: int, params: dict) -> str:
            return "big" if value > params["limit"] else "small"

        @task
        def report(value: int) -> str:
            return f"total={value}"

        summed = total(square.expand(x=extract()))
        big = report.override(task_id="big")(summed)
        choose(summed) >> [big, EmptyOperator(task_id="small")]
    return dag


def test_a_whole_run_on_the_sql_store(db_url: str, settings: Settings) -> None:
    clock = FakeClock(datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    with SqlStore.from_url(db_url, clock=clock) as store:
        result = run_dag_in_process(_pipeline(), store=store, clock=clock, settings=settings)
        assert result.state == "success"
        assert result.task_states == {
            "extract": "success",
            "square[0]": "success",
            "square[1]": "success",
            "square[2]": "success",
            "total": "success",
            "choose": "success",
            "big": "success",
            "small": "skipped",
        }
        assert result.xcom("square") == [1, 4, 9]
        assert result.xcom("total") == 14
        assert result.xcom("choose") == "big"
        assert result.xcom("big") == "total=14"
    assert clock.slept == [30]

    # A new store on the same database sees everything the run wrote.
    with SqlStore.from_url(db_url) as fresh:
        run = fresh.get_dag_run("pipeline", result.run.run_id)
        assert run is not None and run.state == "success"
        assert run.end_date == clock.now()
        assert fresh.get_mapped_xcoms("pipeline", run.run_id, "square", "return_value") == [
            "1",
            "4",
            "9",
        ]
        total = TaskInstanceKey("pipeline", run.run_id, "total")
        assert fresh.get_xcom(total, "return_value") == "14"
        flaky = fresh.get_attempts("pipeline", run.run_id, "square")
        assert [(a.map_index, a.try_number, a.state) for a in flaky] == [
            (0, 1, "success"),
            (1, 1, "up_for_retry"),
            (2, 1, "success"),
            (1, 2, "success"),
        ]
        assert flaky[1].error == "RuntimeError: flaky"
        assert (flaky[3].start_date - flaky[1].start_date).total_seconds() == 30
        retried = fresh.get_task_instance("pipeline", run.run_id, "square", 1)
        assert retried is not None and (retried.try_number, retried.max_tries) == (2, 3)
        # The mapped task's placeholder is gone; its expansion is stored.
        assert fresh.get_task_instance("pipeline", run.run_id, "square") is None
        # The engine's state changes are in the rows; the event log is for people's actions.
        assert fresh.list_events(dag_id="pipeline", limit=None) == []
        assert fresh.running_attempts() == []
