"""The attempt's runtime: its own params, timeouts a task cannot swallow, values that fail
where they are made, template errors that name the task, and the task's own loggers."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta

from headwater import DAG, task
from headwater.operators import BashOperator, PythonOperator
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclasses.dataclass
class Derived:
    a: int
    b: int = dataclasses.field(init=False, default=0)


def test_a_task_that_changes_its_params_changes_no_other_tasks_params() -> None:
    with DAG("params_copy", start_date=START, params={"x": 1, "items": [1]}) as dag:

        @task
        def meddle(params):
            params["x"] = 99
            params["items"].append(2)
            return params["x"]

        @task
        def read(params, value):
            return [params["x"], params["items"], value]

        after = BashOperator(task_id="after", bash_command="echo {{ params.x }}")
        read(value=meddle()) >> after
    result = run_dag(dag)
    assert result.xcom("read") == [1, [1], 99]
    assert result.xcom("after") == "1"
    assert result.run.params == {"x": 1, "items": [1]}


def test_an_execution_timeout_is_not_swallowed_by_except_exception() -> None:
    def stubborn() -> str:
        for _ in range(200):
            try:
                time.sleep(0.05)
            except Exception:  # what careless task code does
                pass
        return "finished"

    with DAG("stubborn", start_date=START) as dag:
        PythonOperator(
            task_id="stubborn",
            python_callable=stubborn,
            execution_timeout=timedelta(seconds=0.3),
        )
    result = run_dag(dag)
    assert result.state_of("stubborn") == "failed"
    assert "TaskTimeoutError: task timed out after 0.3 seconds" in result.log("stubborn")


def test_a_dataclass_defined_in_a_function_fails_the_task_that_returns_it() -> None:
    with DAG("local_class", start_date=START) as dag:

        @task
        def make():
            @dataclasses.dataclass
            class Local:
                a: int

            return Local(1)

        @task
        def use(value):
            return value

        use(make())
    result = run_dag(dag)
    assert result.state_of("make") == "failed"
    assert result.state_of("use") == "upstream_failed"
    log = result.log("make")
    assert "XComError: cannot pass a" in log and "Local between tasks" in log
    assert "the class is defined inside a function" in log


def test_a_dataclass_with_an_init_false_field_fails_the_task_that_returns_it() -> None:
    with DAG("init_false", start_date=START) as dag:

        @task
        def make():
            return Derived(1)

        make()
    result = run_dag(dag)
    assert result.state_of("make") == "failed"
    assert "its field 'b' has init=False" in result.log("make")


def test_a_missing_variable_in_a_template_names_the_task_and_the_field() -> None:
    with DAG("missing_var", start_date=START) as dag:
        BashOperator(task_id="say", bash_command="echo {{ var.value.region }}")
    result = run_dag(dag, store=MemoryStore())
    assert result.state_of("say") == "failed"
    assert (
        "TemplateRenderError: task 'say': template field 'bash_command': "
        "variable 'region' is not set"
    ) in result.log("say")


def test_the_tasks_own_loggers_reach_its_log() -> None:
    def talk() -> None:
        logging.getLogger("my_company.etl").info("loaded %d rows", 3)
        logging.info("from the root logger")
        logging.getLogger("my_company.etl").debug("not at INFO")

    root = logging.getLogger()
    level = root.level
    with DAG("loggers", start_date=START) as dag:
        PythonOperator(task_id="talk", python_callable=talk)
    result = run_dag(dag)
    log = result.log("talk")
    assert "{INFO} loaded 3 rows" in log
    assert "{INFO} from the root logger" in log
    assert "not at INFO" not in log
    assert root.level == level  # put back after the attempt
    assert all(type(h).__name__ != "_RootToAttempt" for h in root.handlers)
