"""A failed attempt's retry policy asked, in the task's process where the exception is
(:mod:`headwater.authoring.retry_policies`); the runtime then applies
:func:`headwater.engine.retries.retry_failed_attempt` with its answer."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from headwater.authoring.retry_policies import MAX_RETRY_DELAY, RetryAction, RetryDecision
from headwater.exceptions import TaskFailedNoRetry
from headwater.masking import redact_text

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import TaskInstance
    from headwater.runtime.logs import AttemptLog

MAX_REASON = 500
"""The most characters of a policy's reason kept with the attempt (Airflow's column too)."""


def policy_decision(
    task: BaseOperator,
    exc: BaseException,
    ti: TaskInstance,
    context: dict[str, Any],
    attempt_log: AttemptLog,
) -> RetryDecision | None:
    """What the task's retry policy decides for ``exc``, written to the attempt's log; None
    without a policy, for an error that never retries (``TaskFailedNoRetry``: the task or a
    sensor's timeout said so), or when the policy itself failed (logged: the task's retries
    decide)."""
    policy = getattr(task, "retry_policy", None)
    if policy is None or isinstance(exc, TaskFailedNoRetry):
        return None
    try:
        decision = policy.evaluate(exc, ti.try_number, ti.max_tries, context or None)
        _check(decision)
    except Exception as error:
        attempt_log.line(
            logging.WARNING,
            redact_text(
                f"Retry policy {type(policy).__name__} failed ({type(error).__name__}: "
                f"{error}); the task's retries decide"
            ),
        )
        return None
    if decision.action is not RetryAction.DEFAULT or decision.reason:
        after = (
            f" after {decision.retry_delay}"
            if decision.action is RetryAction.RETRY and decision.retry_delay is not None
            else ""
        )
        why = f": {decision.reason}" if decision.reason else ""
        attempt_log.line(
            logging.INFO, redact_text(f"Retry policy: {decision.action.value}{after}{why}")
        )
    return decision


def _check(decision: Any) -> None:
    if not isinstance(decision, RetryDecision):
        raise TypeError(f"evaluate() returned {decision!r:.80}, not a RetryDecision")
    if not isinstance(decision.action, RetryAction):
        raise TypeError(f"the decision's action {decision.action!r:.40} is not a RetryAction")
    delay = decision.retry_delay
    if delay is not None and (
        not isinstance(delay, timedelta) or not timedelta(0) <= delay <= MAX_RETRY_DELAY
    ):
        raise ValueError(
            f"the decision's retry_delay {delay!r:.60} is not a timedelta between 0 and "
            f"{MAX_RETRY_DELAY.days} days"
        )
    if decision.reason is not None and not isinstance(decision.reason, str):
        raise TypeError(f"the decision's reason {decision.reason!r:.60} is not text")


def failed_by_policy(decision: RetryDecision | None) -> bool:
    """Whether the policy failed the attempt now (the attempts left unused)."""
    return decision is not None and decision.action is RetryAction.FAIL


def chosen_delay(decision: RetryDecision | None) -> timedelta | None:
    """The wait the policy chose for a retry, if it chose one."""
    if decision is None or decision.action is not RetryAction.RETRY:
        return None
    return decision.retry_delay


def kept_reason(decision: RetryDecision | None) -> str | None:
    """The policy's reason for retrying or failing, as kept with the attempt (masked, cut)."""
    if decision is None or decision.action is RetryAction.DEFAULT or not decision.reason:
        return None
    return redact_text(decision.reason)[:MAX_REASON]
