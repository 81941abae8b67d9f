"""Trigger rules, run for real: upstream outcomes in, downstream state out (Airflow semantics)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, TaskSkipped, TriggerRule
from headwater.exceptions import InvalidTriggerRuleError
from headwater.operators import EmptyOperator, PythonOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def _outcome(kind: str):
    def fn() -> None:
        if kind == "fail":
            raise RuntimeError("planned failure")
        if kind == "skip":
            raise TaskSkipped("planned skip")

    return fn


def run_rule(rule: str, outcomes: list[str]) -> str:
    """Upstream tasks end as ``outcomes``; return the state of a task with ``rule`` after them."""
    with DAG("rules", start_date=START) as dag:
        ups = [
            PythonOperator(task_id=f"up{i}", python_callable=_outcome(kind))
            for i, kind in enumerate(outcomes)
        ]
        target = EmptyOperator(task_id="target", trigger_rule=rule)
        ups >> target
    return run_dag(dag).state_of("target")


CASES = [
    ("all_success", ["ok", "ok"], "success"),
    ("all_success", ["ok", "fail"], "upstream_failed"),
    ("all_success", ["ok", "skip"], "skipped"),
    ("all_success", ["fail", "skip"], "upstream_failed"),
    ("all_failed", ["fail", "fail"], "success"),
    ("all_failed", ["fail", "ok"], "skipped"),
    ("all_failed", ["fail", "skip"], "skipped"),
    ("all_done", ["ok", "fail", "skip"], "success"),
    ("all_skipped", ["skip", "skip"], "success"),
    ("all_skipped", ["skip", "ok"], "skipped"),
    ("one_success", ["fail", "ok"], "success"),
    ("one_success", ["fail", "fail"], "upstream_failed"),
    ("one_success", ["skip", "skip"], "skipped"),
    ("one_failed", ["ok", "fail"], "success"),
    ("one_failed", ["ok", "ok"], "skipped"),
    ("one_done", ["skip", "fail"], "success"),
    ("one_done", ["skip", "skip"], "skipped"),
    ("none_failed", ["ok", "skip"], "success"),
    ("none_failed", ["ok", "fail"], "upstream_failed"),
    ("none_failed_min_one_success", ["ok", "skip"], "success"),
    ("none_failed_min_one_success", ["skip", "skip"], "skipped"),
    ("none_failed_min_one_success", ["ok", "fail"], "upstream_failed"),
    ("none_skipped", ["ok", "fail"], "success"),
    ("none_skipped", ["ok", "skip"], "skipped"),
    ("always", ["fail", "skip"], "success"),
]


@pytest.mark.parametrize(("rule", "outcomes", "expected"), CASES)
def test_trigger_rule(rule: str, outcomes: list[str], expected: str) -> None:
    assert run_rule(rule, outcomes) == expected


def test_rules_accept_enum_members() -> None:
    assert run_rule(TriggerRule.ONE_FAILED, ["fail", "ok"]) == "success"


def test_always_does_not_wait_for_a_retrying_upstream(clock) -> None:
    order: list[str] = []

    def flaky() -> None:
        order.append("up")
        if len(order) == 1:
            raise RuntimeError("first try fails")

    with DAG("always_first", start_date=START) as dag:
        up = PythonOperator(task_id="up", python_callable=flaky, retries=1, retry_delay=60)
        anytime = PythonOperator(
            task_id="anytime",
            python_callable=lambda: order.append("anytime"),
            trigger_rule="always",
        )
        up >> anytime
    result = run_dag(dag, clock=clock)
    assert order == ["up", "anytime", "up"]
    assert result.task_states == {"up": "success", "anytime": "success"}


def test_failure_propagates_as_upstream_failed_down_a_chain() -> None:
    with DAG("chain_fail", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=_outcome("fail"))
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
        a >> b >> c >> cleanup
    result = run_dag(dag)
    assert result.task_states == {
        "a": "failed",
        "b": "upstream_failed",
        "c": "upstream_failed",
        "cleanup": "success",
    }
    # The leaf (cleanup) succeeded, so the run succeeds, as in Airflow.
    assert result.state == "success"


def test_skip_propagates_down_a_chain() -> None:
    with DAG("chain_skip", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=_outcome("skip"))
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        a >> b >> c
    result = run_dag(dag)
    assert result.task_states == {"a": "skipped", "b": "skipped", "c": "skipped"}
    assert result.succeeded


def test_unknown_trigger_rule_names_task_and_choices() -> None:
    with (
        DAG("bad_rule", start_date=START),
        pytest.raises(
            InvalidTriggerRuleError,
            match=r"task 'x': unknown trigger_rule 'all_sucess'.*all_success",
        ),
    ):
        EmptyOperator(task_id="x", trigger_rule="all_sucess")
