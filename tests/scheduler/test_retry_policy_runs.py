"""A task's retry policy under the scheduler: the worker process decides (it has the
exception), and the delay and reason it chose reach the scheduler in the attempt's outcome,
stored with the attempt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from scheduler_harness import Harness

from headwater.services.context import ServiceContext
from headwater.services.task_instance_views import get_task_instance_detail
from headwater.settings import load_settings


def test_the_workers_policy_sets_the_wait_and_is_kept_with_the_attempt(
    harness: Harness, tmp_path: Path
) -> None:
    marker = tmp_path / "tries.txt"
    harness.write_dag(
        "api",
        f"""
        from headwater import ExceptionRetryPolicy, RetryAction, RetryRule

        MARKER = Path({str(marker)!r})
        POLICY = ExceptionRetryPolicy(rules=[
            RetryRule(exception=ConnectionError, retry_delay=timedelta(seconds=45),
                      reason="network blip"),
            RetryRule(exception=PermissionError, action=RetryAction.FAIL, reason="no access"),
        ])

        def call():
            tries = int(MARKER.read_text()) if MARKER.exists() else 0
            MARKER.write_text(str(tries + 1))
            raise ConnectionError("reset") if tries == 0 else PermissionError("denied")

        with DAG("api", start_date=START):
            PythonOperator(task_id="call", python_callable=call, retries=4,
                           retry_delay=timedelta(hours=1), retry_policy=POLICY)
        """,
    )
    harness.process()
    run = harness.trigger("api")
    harness.step()
    ti = harness.tis("api", run.run_id)["call"]
    assert ti.state.value == "up_for_retry"
    assert ti.next_retry_at == harness.clock.now() + timedelta(seconds=45)  # not the hour
    first = harness.attempts("api", run.run_id, "call")[0]
    assert first.outcome is not None
    assert first.outcome.retry_delay == timedelta(seconds=45)
    assert first.outcome.retry_reason == "network blip"
    harness.clock.advance(timedelta(seconds=45))
    harness.run_until(harness.finished("api", run.run_id))
    attempts = harness.attempts("api", run.run_id, "call")
    assert [(a.try_number, a.state.value) for a in attempts] == [
        (1, "up_for_retry"),
        (2, "failed"),  # three retries left, but the policy failed it
    ]
    assert attempts[1].outcome is not None
    assert attempts[1].outcome.retry_reason == "no access"
    assert harness.run_state("api", run.run_id) == "failed"
    # The API's tries show why (Airflow's retry_reason).
    detail = get_task_instance_detail(
        ServiceContext(load_settings(), harness.store), "api", run.run_id, "call"
    )
    assert [t.retry_reason for t in detail.tries] == ["network blip", "no access"]
