from datetime import UTC, datetime

from headwater import DAG, task


def test_taskflow_values_travel_between_tasks() -> None:
    with DAG("smoke", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:

        @task
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        total(numbers())

    result = dag.test()
    assert result.succeeded
    assert result.xcom("total") == 6
