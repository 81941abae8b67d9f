"""``async def`` Python tasks (Airflow 3.1's async PythonOperator and ``@task``) run to their
end in an event loop of their own: what they return is passed on, not a coroutine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from headwater import DAG, task
from headwater.operators import PythonOperator
from headwater.sensors import PythonSensor
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


async def _double_later(x: int, ds: str) -> str:
    await asyncio.sleep(0)
    return f"{ds} {2 * x}"


def test_async_task_and_callable_return_their_values() -> None:
    with DAG("async_tasks", start_date=START) as dag:

        @task
        async def fetch(n: int) -> int:
            await asyncio.sleep(0)
            return n + 1

        @task
        def report(value: int) -> int:
            return value * 10

        classic = PythonOperator(
            task_id="classic", python_callable=_double_later, op_kwargs={"x": 21}
        )
        report(fetch(1)) >> classic

    result = run_dag(dag, logical_date=datetime(2024, 5, 6, tzinfo=UTC))
    assert result.xcom("fetch") == 2
    assert result.xcom("report") == 20
    assert result.xcom("classic") == "2024-05-06 42"


def test_async_poke_function_of_a_python_sensor() -> None:
    async def ready() -> bool:
        await asyncio.sleep(0)
        return True

    with DAG("async_sensor", start_date=START) as dag:
        PythonSensor(task_id="wait", python_callable=ready, poke_interval=1, timeout=5)

    assert run_dag(dag).state_of("wait") == "success"


def test_an_async_task_that_raises_fails_with_its_error() -> None:
    with DAG("async_fails", start_date=START) as dag:

        @task
        async def broken() -> None:
            await asyncio.sleep(0)
            raise ValueError("no data for today")

        broken()

    result = run_dag(dag)
    assert result.state_of("broken") == "failed"
    assert "ValueError: no data for today" in result.log("broken")
