"""Retry policies (``retry_policy=``, Airflow 3.3's): the exception decides whether a failed
attempt is retried and after how long, within the task's ``retries``; runs on the memory
store with a fake clock."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater import (
    DAG,
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
    TaskFailedNoRetry,
    task,
)
from headwater.clock import FakeClock
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.operators import PythonOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


class RateLimited(Exception):
    """Stands for a client library's error, named by its dotted name in rules."""


def raising(*errors: BaseException):
    """A callable that raises ``errors`` one per call, then returns "done"."""
    queue = list(errors)

    def fn() -> str:
        if queue:
            raise queue.pop(0)
        return "done"

    return fn


POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(exception=ConnectionError, retry_delay=timedelta(seconds=30)),
        RetryRule(
            exception=f"{__name__}.RateLimited",
            retry_delay=timedelta(minutes=5),
            reason="rate limited, backing off",
        ),
        RetryRule(exception=PermissionError, action=RetryAction.FAIL, reason="not retryable"),
    ]
)


# -- what a policy decides ------------------------------------------------------------------


def test_the_first_matching_rule_decides_and_subclasses_match() -> None:
    decision = POLICY.evaluate(ConnectionRefusedError("refused"), 1, 4)
    assert decision == RetryDecision(
        RetryAction.RETRY,
        retry_delay=timedelta(seconds=30),
        reason="matched the rule for ConnectionRefusedError",
    )
    assert POLICY.evaluate(RateLimited(), 1, 4).retry_delay == timedelta(minutes=5)
    assert POLICY.evaluate(PermissionError(), 1, 4) == RetryDecision.fail("not retryable")
    assert POLICY.evaluate(ValueError(), 1, 4) == RetryDecision.default()


def test_a_dotted_name_matches_by_the_class_names_or_by_importing_it() -> None:
    # socket.timeout is TimeoutError under another name: found by importing the name.
    by_alias = RetryRule(exception="socket.timeout")
    assert socket.timeout is TimeoutError
    assert by_alias.matches(TimeoutError()) and not by_alias.matches(OSError())
    # A module nobody can import never matches, and is no error at parse time.
    missing = RetryRule(exception="no_such_package.errors.Boom")
    assert not missing.matches(RuntimeError())


def test_exact_matching_and_lists_of_exceptions() -> None:
    exact = RetryRule(exception=[OSError, "builtins.KeyError"], match_subclasses=False)
    assert exact.matches(OSError()) and exact.matches(KeyError())
    assert not exact.matches(ConnectionError())  # a subclass of OSError
    assert exact.exception == [OSError, "builtins.KeyError"]
    loose = RetryRule(exception=[OSError, "builtins.KeyError"])
    assert loose.matches(ConnectionError())


def test_the_policy_default_applies_when_no_rule_matches() -> None:
    policy = ExceptionRetryPolicy(rules=[RetryRule(exception=ConnectionError)], default="fail")
    assert policy.evaluate(ValueError(), 1, 3).action is RetryAction.FAIL
    assert repr(policy) == "ExceptionRetryPolicy([ConnectionError -> retry], default=fail)"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RetryRule(exception="ValueError"), "is not a dotted name"),
        (lambda: RetryRule(exception=42), "must be an exception class or its dotted name"),
        (lambda: RetryRule(exception=[]), "give at least one exception"),
        (lambda: RetryRule(exception=str), "must be an exception class"),
        (lambda: RetryRule(exception=OSError, action="again"), "is not one of retry, fail"),
        (lambda: RetryRule(exception=OSError, retry_delay=-1), "between 0 and 366 days"),
        (lambda: RetryRule(exception=OSError, retry_delay=float("nan")), "is not a duration"),
        (lambda: RetryRule(exception=OSError, retry_delay="30s"), "a timedelta or seconds"),
        (lambda: RetryRule(exception=OSError, match_subclasses="yes"), "True or False"),
        (lambda: ExceptionRetryPolicy(rules=RetryRule(exception=OSError)), "a list of RetryRule"),
        (lambda: ExceptionRetryPolicy(rules=[OSError]), "must be RetryRule objects"),
    ],
)
def test_bad_rules_are_refused_where_they_are_written(build: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()


def test_a_task_refuses_a_retry_policy_that_is_not_one() -> None:
    refused = pytest.raises(DagDefinitionError, match=r"task 't': retry_policy must be a Retry")
    with refused, DAG("bad_policy", start_date=START):
        PythonOperator(task_id="t", python_callable=print, retry_policy={"retries": 3})


# -- runs ---------------------------------------------------------------------------------


def test_a_retry_waits_the_delay_of_the_rule_that_matched(clock: FakeClock) -> None:
    with DAG("policy_delay", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(
                ConnectionResetError("reset"), RateLimited("429"), ValueError()
            ),
            retries=5,
            retry_delay=timedelta(minutes=1),
            retry_policy=POLICY,
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "success"
    # The rules' 30 s and 5 min, then the task's own minute for the error no rule names.
    assert clock.slept == [30, 300, 60]
    assert "Retry policy: retry after 0:00:30: matched the rule for ConnectionResetError" in (
        result.log("call", try_number=1)
    )
    second = result.log("call", try_number=2)
    assert "Retry policy: retry after 0:05:00: rate limited, backing off" in second
    assert "Marking for retry (attempt 2 of 6)" in second
    assert "Retry policy" not in result.log("call", try_number=3)  # DEFAULT, no reason


def test_fail_ends_the_task_now_with_its_failure_callback(clock: FakeClock) -> None:
    called: list[str] = []
    with DAG("policy_fail", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(PermissionError("denied")),
            retries=5,
            retry_policy=POLICY,
            on_retry_callback=lambda ctx: called.append("retry"),
            on_failure_callback=lambda ctx: called.append("failure"),
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "failed"
    assert len(result.attempts("call")) == 1
    assert called == ["failure"]
    assert clock.slept == []
    log = result.log("call")
    assert "Retry policy: fail: not retryable" in log
    assert "Marking as failed (attempt 1 of 6)" in log


def test_a_policy_never_adds_attempts(clock: FakeClock) -> None:
    with DAG("policy_bounded", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(*[ConnectionError()] * 5),
            retries=1,
            retry_policy=POLICY,
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "failed"
    assert [a.try_number for a in result.attempts("call")] == [1, 2]
    assert clock.slept == [30]


def test_task_failed_no_retry_is_never_put_to_the_policy(clock: FakeClock) -> None:
    always_retry = ExceptionRetryPolicy(rules=[RetryRule(exception=Exception)])
    with DAG("policy_no_retry", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(TaskFailedNoRetry("bad input")),
            retries=3,
            retry_policy=always_retry,
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "failed"
    assert len(result.attempts("call")) == 1
    assert "Retry policy" not in result.log("call")


class _Broken(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("policy bug")


class _Shrinking(RetryPolicy):
    """Retries only the first try, after a delay that names the task (from the context)."""

    def evaluate(self, exception, try_number, max_tries, context=None):  # type: ignore[no-untyped-def]
        assert context is not None and max_tries == 4
        if try_number == 1:
            return RetryDecision.retry(
                timedelta(seconds=7), f"first try of {context['task'].task_id}"
            )
        return RetryDecision.fail("tried enough")


def test_a_policy_that_raises_is_logged_and_the_task_retries_decide(clock: FakeClock) -> None:
    with DAG("policy_broken", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(ValueError("one")),
            retries=1,
            retry_delay=5,
            retry_policy=_Broken(),
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "success"
    assert clock.slept == [5]
    assert (
        "Retry policy _Broken failed (RuntimeError: policy bug); the task's retries decide"
        in result.log("call", try_number=1)
    )


def test_a_policy_of_ones_own_sees_the_try_and_the_context(clock: FakeClock) -> None:
    with DAG("policy_custom", start_date=START) as dag:
        PythonOperator(
            task_id="call",
            python_callable=raising(*[ValueError()] * 3),
            retries=3,
            retry_policy=_Shrinking(),
        )
    result = run_dag(dag, clock=clock)
    assert result.state_of("call") == "failed"
    assert [a.try_number for a in result.attempts("call")] == [1, 2]
    assert clock.slept == [7]
    assert "Retry policy: retry after 0:00:07: first try of call" in result.log(
        "call", try_number=1
    )
    assert "Retry policy: fail: tried enough" in result.log("call", try_number=2)


def test_default_args_and_mapped_tasks_carry_the_policy(clock: FakeClock) -> None:
    failures = {0: [ConnectionError()], 1: [PermissionError()]}

    with DAG(
        "policy_mapped",
        start_date=START,
        default_args={"retries": 2, "retry_policy": POLICY},
    ) as dag:

        @task
        def call(i: int) -> int:
            if failures[i]:
                raise failures[i].pop(0)
            return i

        call.expand(i=[0, 1])

    assert dag.get_task("call").retry_policy is POLICY
    result = run_dag(dag, clock=clock)
    states = {a.map_index: a.state for a in result.attempts("call") if a.try_number == 1}
    assert states == {0: "up_for_retry", 1: "failed"}
    assert result.ti("call", map_index=0).state == "success"
    assert clock.slept == [30]


# -- the decision travels with the outcome ------------------------------------------------


def test_the_chosen_delay_and_reason_travel_in_the_outcome_json() -> None:
    outcome = AttemptOutcome(
        TaskInstanceState.FAILED,
        error="ConnectionError",
        retry=True,
        retry_delay=timedelta(seconds=30),
        retry_reason="network",
    )
    data = outcome.to_json()
    assert data["retry_delay_s"] == 30 and data["retry_reason"] == "network"
    back = AttemptOutcome.from_json(data)
    assert back.retry_delay == timedelta(seconds=30) and back.retry_reason == "network"
    for bad in (-1, "30", True, 10**12):
        with pytest.raises(HeadwaterError, match="not an attempt outcome: retry_delay_s"):
            AttemptOutcome.from_json({**data, "retry_delay_s": bad})
