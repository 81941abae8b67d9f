"""Mapped task groups as Airflow 2.5+ users write them: a @task_group expanded over a
literal list (with partial) and over an upstream task's output, with a reduce after it."""

from __future__ import annotations

import datetime

from airflow.decorators import task_group as legacy_task_group
from airflow.operators.bash import BashOperator
from airflow.sdk import dag, task, task_group


@dag(start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), schedule=None, catchup=False)
def groups_mapped():
    @task
    def list_files() -> list[str]:
        return ["a.csv", "b.csv", "c.csv"]

    @task
    def extract(path: str) -> int:
        return {"a.csv": 10, "b.csv": 20, "c.csv": 30}[path]

    @task
    def check(rows: int, path: str) -> int:
        if path == "b.csv":
            raise ValueError(f"refusing {path}")
        return rows + 1

    @task(trigger_rule="all_done")
    def report(counts: list[int]) -> str:
        summary = f"loaded rows: {sorted(counts)}"
        print(summary)
        return summary

    @task_group
    def per_file(path: str) -> int:
        return check(extract(path), path)

    report(per_file.expand(path=list_files()))

    @task
    def scale(value: int, factor: int) -> int:
        return value * factor

    @legacy_task_group(group_id="multiply")
    def multiply(value: int, factor: int):
        echo = BashOperator(task_id="echo", bash_command="echo index={{ ti.map_index }}")
        scaled = scale(value, factor)
        echo >> scaled
        return scaled

    @task
    def total(values: list[int]) -> int:
        print(f"total is {sum(values)}")
        return sum(values)

    total(multiply.partial(factor=3).expand(value=[1, 2]))


groups_mapped()
