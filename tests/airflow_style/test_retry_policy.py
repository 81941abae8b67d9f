"""Airflow 3.3's retry policies in an Airflow-style file (``dags/retry_policy.py``), run
unmodified: the rules' delays replace the task's hour, FAIL stops the retries left, and a
policy of one's own (a ``RetryPolicy`` subclass) sees the try number and the tries."""

from __future__ import annotations

from tests.airflow_style.conftest import AirflowDagTest
from tests.airflow_style.test_misc import _task_log


def test_airflow_retry_policies_decide_from_the_exception(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("retry_policy.py", "retry_policy")
    assert done.returncode == 1, done.stdout + done.stderr  # two of its tasks fail on purpose
    first = _task_log(done.stdout, "up_for_retry", "call_external_api")
    assert "Retry policy: retry after 0:00:00: matched the rule for ConnectionRefusedError" in first
    assert "Returned value was: 'data'" in _task_log(done.stdout, "success", "call_external_api")
    refused = _task_log(done.stdout, "failed", "refused")
    assert "Retry policy: fail: matched the rule for KeyError" in refused
    assert "Marking as failed (attempt 1 of 6)" in refused
    assert "Retry policy: retry after 0:00:00: first of 6 tries" in _task_log(
        done.stdout, "up_for_retry", "custom"
    )
    custom = _task_log(done.stdout, "failed", "custom")
    assert "Retry policy: fail: one retry is enough" in custom
    assert "Marking as failed (attempt 2 of 6)" in custom
