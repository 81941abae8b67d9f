"""Airflow 3.3's retry policies, as its example_retry_policy.py writes them: the exception
decides. A rule's delay of 0 s stands in for the minutes a real API would want (the task's
own delay is an hour: a retry that waited it would time the test out)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, ExceptionRetryPolicy, RetryAction, RetryRule, task
from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

API_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="requests.exceptions.HTTPError",
            action=RetryAction.RETRY,
            retry_delay=timedelta(minutes=5),
            reason="Rate limit, backing off",
        ),
        RetryRule(
            exception="google.auth.exceptions.RefreshError",
            action=RetryAction.FAIL,
            reason="Auth failure, not retryable",
        ),
        RetryRule(exception=ConnectionError, action=RetryAction.RETRY, retry_delay=timedelta(0)),
        RetryRule(exception=[PermissionError, "builtins.LookupError"], action=RetryAction.FAIL),
    ],
)


class OnlyOnce(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        if try_number == 1:
            return RetryDecision.retry(timedelta(0), reason=f"first of {max_tries} tries")
        return RetryDecision.fail(reason="one retry is enough")


with DAG(dag_id="retry_policy", schedule=None, catchup=False):

    @task(retries=5, retry_delay=timedelta(hours=1), retry_policy=API_RETRY_POLICY)
    def call_external_api(ti=None):
        if ti.try_number == 1:
            raise ConnectionRefusedError("connection refused")
        return "data"

    @task(retries=5, retry_policy=API_RETRY_POLICY)
    def refused(ti=None):
        raise KeyError("no such record")

    @task(retries=5, retry_delay=timedelta(hours=1), retry_policy=OnlyOnce())
    def custom(ti=None):
        raise ValueError(f"try {ti.try_number}")

    call_external_api()
    refused()
    custom()
