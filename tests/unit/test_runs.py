"""Whole runs on the memory store: retries and their delays, timeouts, callbacks, branching."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, TaskFailedNoRetry, task
from headwater.clock import FakeClock
from headwater.exceptions import DagDefinitionError
from headwater.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def failing_times(n: int):
    calls = {"n": 0}

    def fn() -> str:
        calls["n"] += 1
        if calls["n"] <= n:
            raise RuntimeError(f"failure {calls['n']}")
        return "done"

    return fn


def test_retries_wait_their_delay_and_are_counted(clock: FakeClock) -> None:
    with DAG("retry", start_date=START) as dag:
        PythonOperator(task_id="flaky", python_callable=failing_times(2), retries=3, retry_delay=30)
    result = run_dag(dag, clock=clock)
    assert result.state_of("flaky") == "success"
    attempts = result.attempts("flaky")
    assert [a.try_number for a in attempts] == [1, 2, 3]
    assert [a.state for a in attempts] == ["up_for_retry", "up_for_retry", "success"]
    assert [a.error for a in attempts][:2] == ["RuntimeError: failure 1", "RuntimeError: failure 2"]
    starts = [a.start_date for a in attempts]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(starts)] == [30, 30]
    assert clock.slept == [30, 30]
    assert result.ti("flaky").try_number == 3


def test_exponential_backoff_doubles_up_to_max_retry_delay(clock: FakeClock) -> None:
    with DAG("backoff", start_date=START) as dag:
        PythonOperator(
            task_id="flaky",
            python_callable=failing_times(4),
            retries=4,
            retry_delay=timedelta(seconds=10),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(seconds=30),
        )
    result = run_dag(dag, clock=clock)
    assert result.succeeded
    assert clock.slept == [10, 20, 30, 30]


def test_out_of_retries_fails_the_task_and_the_run(clock: FakeClock) -> None:
    with DAG("out_of_retries", start_date=START) as dag:
        bad = PythonOperator(
            task_id="bad", python_callable=failing_times(9), retries=1, retry_delay=5
        )
        after = EmptyOperator(task_id="after")
        bad >> after
    result = run_dag(dag, clock=clock)
    assert result.state == "failed"
    assert result.task_states == {"bad": "failed", "after": "upstream_failed"}
    assert result.ti("bad").error == "RuntimeError: failure 2"
    assert "Marking as failed (attempt 2 of 2)" in result.log("bad")


def test_task_failed_no_retry_ignores_remaining_retries(clock: FakeClock) -> None:
    def give_up() -> None:
        raise TaskFailedNoRetry("bad input, retrying will not help")

    with DAG("no_retry", start_date=START) as dag:
        PythonOperator(task_id="t", python_callable=give_up, retries=5)
    result = run_dag(dag, clock=clock)
    assert result.state_of("t") == "failed"
    assert len(result.attempts("t")) == 1
    assert clock.slept == []


def test_default_args_apply_to_every_task(clock: FakeClock) -> None:
    with DAG("defaults", start_date=START, default_args={"retries": 2, "retry_delay": 7}) as dag:
        PythonOperator(task_id="a", python_callable=failing_times(2))
        PythonOperator(task_id="b", python_callable=failing_times(0), retries=0)
    assert dag.get_task("a").retries == 2
    assert dag.get_task("b").retries == 0
    result = run_dag(dag, clock=clock)
    assert result.succeeded
    assert clock.slept == [7, 7]


def test_an_operators_own_default_args_come_between_its_arguments_and_the_dags() -> None:
    dag_defaults = {"retries": 2, "retry_delay": 7, "owner": "data"}
    with DAG("own_defaults", start_date=START, default_args=dag_defaults):
        own = EmptyOperator(task_id="own", default_args={"retries": 4, "not_mine": 1})
        given = EmptyOperator(task_id="given", default_args={"retries": 4}, retries=1)
    assert (own.retries, own.retry_delay, own.owner) == (4, timedelta(seconds=7), "data")
    assert given.retries == 1
    with pytest.raises(DagDefinitionError, match="task 'bad': default_args must be a dict"):
        EmptyOperator(task_id="bad", default_args=[("retries", 1)])  # type: ignore[arg-type]


def test_execution_timeout_fails_a_python_task() -> None:
    def hang() -> None:
        time.sleep(30)

    with DAG("timeout", start_date=START) as dag:
        PythonOperator(
            task_id="hang", python_callable=hang, execution_timeout=timedelta(seconds=0.3)
        )
    result = run_dag(dag)
    assert result.state_of("hang") == "failed"
    assert result.ti("hang").error == (
        "TaskTimeoutError: task timed out after 0.3 seconds (execution_timeout)"
    )


def test_execution_timeout_kills_a_bash_command(tmp_path) -> None:
    marker = tmp_path / "still-running"
    with DAG("bash_timeout", start_date=START) as dag:
        BashOperator(
            task_id="slow",
            bash_command=f"sleep 30; touch {marker}",
            execution_timeout=timedelta(seconds=0.3),
        )
    result = run_dag(dag)
    assert result.state_of("slow") == "failed"
    assert "timed out" in (result.ti("slow").error or "")
    assert not marker.exists()


def test_dagrun_timeout_fails_the_run_and_skips_what_is_left() -> None:
    clock = FakeClock(START)
    with DAG("run_timeout", start_date=START, dagrun_timeout=timedelta(minutes=10)) as dag:
        slow = PythonOperator(
            task_id="slow", python_callable=lambda: clock.advance(timedelta(minutes=11))
        )
        never = EmptyOperator(task_id="never")
        slow >> never
    result = run_dag(dag, clock=clock)
    assert result.state == "failed"
    assert result.task_states == {"slow": "success", "never": "skipped"}
    assert "dagrun_timeout" in (result.run.note or "")


def test_task_callbacks_get_context(clock: FakeClock) -> None:
    events: list[tuple[str, str, int]] = []

    def record(kind: str):
        return lambda ctx: events.append((kind, ctx["ti"].task_id, ctx["ti"].try_number))

    with DAG("callbacks", start_date=START) as dag:
        PythonOperator(
            task_id="flaky",
            python_callable=failing_times(1),
            retries=1,
            retry_delay=1,
            on_retry_callback=record("retry"),
            on_success_callback=record("success"),
        )
        PythonOperator(
            task_id="bad",
            python_callable=failing_times(5),
            on_failure_callback=[
                record("failure"),
                lambda ctx: events.append(("exc", str(ctx["exception"]), 0)),
            ],
        )
    run_dag(dag, clock=clock)
    assert ("retry", "flaky", 1) in events
    assert ("success", "flaky", 2) in events
    assert ("failure", "bad", 1) in events
    assert ("exc", "failure 1", 0) in events


def test_a_failing_callback_does_not_change_the_state() -> None:
    def broken(ctx) -> None:
        raise ValueError("callback bug")

    with DAG("bad_callback", start_date=START) as dag:
        EmptyOperator(task_id="t", on_success_callback=broken)
    result = run_dag(dag)
    assert result.state_of("t") == "success"
    assert "ValueError: callback bug" in result.log("t")


def test_dag_callbacks_run_with_the_final_state() -> None:
    seen: list[tuple[str, str]] = []
    with DAG(
        "dag_callbacks",
        start_date=START,
        on_success_callback=lambda ctx: seen.append(("success", ctx["reason"])),
        on_failure_callback=lambda ctx: seen.append(("failure", ctx["reason"])),
    ) as dag:
        PythonOperator(task_id="boom", python_callable=failing_times(1))
    run_dag(dag)
    assert seen == [("failure", "task failed: boom")]


def test_branching_follows_the_chosen_task_and_skips_the_rest() -> None:
    with DAG("branch", start_date=START, params={"size": 5}) as dag:
        pick = BranchPythonOperator(
            task_id="pick",
            python_callable=lambda params: "small" if params["size"] < 10 else "large",
        )
        small = EmptyOperator(task_id="small")
        large = EmptyOperator(task_id="large")
        after_large = EmptyOperator(task_id="after_large")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        pick >> [small, large]
        large >> after_large
        [small, after_large] >> join
    result = run_dag(dag)
    assert result.task_states == {
        "pick": "success",
        "small": "success",
        "large": "skipped",
        "after_large": "skipped",
        "join": "success",
    }
    assert result.xcom("pick") == "small"
    big = run_dag(dag, conf={"size": 50})
    assert big.state_of("small") == "skipped"
    assert big.state_of("after_large") == "success"


def test_taskflow_branch_into_a_task_group_follows_its_roots() -> None:
    from headwater import TaskGroup

    with DAG("branch_group", start_date=START) as dag:

        @task.branch
        def choose() -> list[str]:
            return ["heavy"]

        with TaskGroup("heavy") as heavy:
            first = EmptyOperator(task_id="first")
            second = EmptyOperator(task_id="second")
            first >> second
        light = EmptyOperator(task_id="light")
        choose() >> [heavy, light]
    result = run_dag(dag)
    assert result.task_states["heavy.first"] == "success"
    assert result.task_states["heavy.second"] == "success"
    assert result.task_states["light"] == "skipped"


def test_branch_to_an_unknown_task_fails_with_its_name() -> None:
    with DAG("branch_bad", start_date=START) as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "nope")
        pick >> EmptyOperator(task_id="real")
    result = run_dag(dag)
    assert result.state_of("pick") == "failed"
    assert "chose 'nope', which is not a task" in (result.ti("pick").error or "")


@pytest.mark.parametrize(
    ("ignore_rules", "expected_final"), [(True, "skipped"), (False, "success")]
)
def test_short_circuit(ignore_rules: bool, expected_final: str) -> None:
    with DAG("short", start_date=START) as dag:
        check = ShortCircuitOperator(
            task_id="check",
            python_callable=list,
            ignore_downstream_trigger_rules=ignore_rules,
        )
        nxt = EmptyOperator(task_id="next")
        final = EmptyOperator(task_id="final", trigger_rule="all_done")
        check >> nxt >> final
    result = run_dag(dag)
    assert result.state_of("next") == "skipped"
    assert result.state_of("final") == expected_final


def test_short_circuit_truthy_lets_everything_run() -> None:
    with DAG("short_true", start_date=START) as dag:

        @task.short_circuit
        def has_data() -> int:
            return 3

        has_data() >> EmptyOperator(task_id="load")
    result = run_dag(dag)
    assert result.task_states == {"has_data": "success", "load": "success"}


def test_tasks_run_in_dependency_order_with_priority_breaking_ties() -> None:
    order: list[str] = []
    with DAG("order", start_date=START) as dag:

        def step(name: str, weight: int = 1) -> PythonOperator:
            return PythonOperator(
                task_id=name, python_callable=lambda: order.append(name), priority_weight=weight
            )

        root = step("root")
        low, high = step("low", 1), step("high", 10)
        end = step("end")
        root >> [low, high] >> end
    run_dag(dag)
    assert order == ["root", "high", "low", "end"]


def test_bash_operator_exit_codes(tmp_path) -> None:
    with DAG("bash_codes", start_date=START) as dag:
        BashOperator(task_id="ok", bash_command="echo first; echo last")
        BashOperator(task_id="skip", bash_command="exit 99")
        BashOperator(task_id="fail", bash_command="echo oops >&2; exit 3")
        BashOperator(
            task_id="env",
            bash_command='echo "$GREETING from $(pwd)"',
            env={"GREETING": "hi"},
            append_env=True,
            cwd=str(tmp_path),
        )
    result = run_dag(dag)
    assert result.task_states == {
        "ok": "success",
        "skip": "skipped",
        "fail": "failed",
        "env": "success",
    }
    assert result.xcom("ok") == "last"
    assert result.ti("fail").error == "BashCommandError: bash command failed: exit code 3"
    assert "oops" in result.log("fail")
    assert result.xcom("env") == f"hi from {tmp_path}"


def test_bash_env_replaces_the_environment_unless_appended(monkeypatch) -> None:
    monkeypatch.setenv("OUTER_VALUE", "outer")
    with DAG("bash_env", start_date=START) as dag:
        BashOperator(
            task_id="replaced", bash_command='echo "[${OUTER_VALUE:-unset}]"', env={"A": "1"}
        )
        BashOperator(
            task_id="appended",
            bash_command='echo "[$OUTER_VALUE]"',
            env={"A": "1"},
            append_env=True,
        )
    result = run_dag(dag)
    assert result.xcom("replaced") == "[unset]"
    assert result.xcom("appended") == "[outer]"


def test_print_output_lands_in_the_attempt_log() -> None:
    with DAG("printing", start_date=START) as dag:
        PythonOperator(task_id="talk", python_callable=lambda: print("hello log"))
    result = run_dag(dag)
    log = result.log("talk")
    assert "{INFO} hello log" in log
    path = result.attempts("talk")[0].log_path
    assert path is not None
    assert path.endswith(
        "dag_id=printing/run_id=" + result.run.run_id + "/task_id=talk/attempt=1.log"
    )


def test_the_return_value_is_logged_unless_turned_off() -> None:
    with DAG("returning", start_date=START) as dag:
        PythonOperator(task_id="shown", python_callable=lambda: "x" * 500)
        PythonOperator(
            task_id="hidden", python_callable=lambda: "secret", show_return_value_in_logs=False
        )

        @task
        def answer() -> dict[str, int]:
            return {"answer": 42}

        answer()
    result = run_dag(dag)
    shown = result.log("shown")
    line = next(line for line in shown.splitlines() if "Returned value was" in line)
    assert line.endswith("{INFO} Returned value was: '" + "x" * 199)  # repr cut at 200 chars
    assert shown.index("Returned value was") < shown.index("Task succeeded")
    assert "Returned value was" not in result.log("hidden")
    assert "{INFO} Returned value was: {'answer': 42}" in result.log("answer")


def test_a_logical_date_beyond_year_9999_in_utc_is_refused_even_without_a_schedule() -> None:
    from datetime import timezone

    from headwater.engine.run_factory import new_dag_run
    from headwater.exceptions import HeadwaterError

    with DAG("unscheduled", schedule=None) as dag:
        EmptyOperator(task_id="t")
    late = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-1)))  # 10000 in UTC
    with pytest.raises(HeadwaterError, match="logical date 9999-12-31T23:00:00-01:00 is out of"):
        new_dag_run(dag, logical_date=late)
    assert new_dag_run(dag, logical_date=late.replace(hour=22)).data_interval_end == late.replace(
        hour=22
    )
