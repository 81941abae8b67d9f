"""How a Celery task that returned no outcome is told: the words a user reads."""

from __future__ import annotations

from billiard.exceptions import TimeLimitExceeded, WorkerLostError
from celery.exceptions import TaskRevokedError

from headwater.celery_executor.results import TIMED_OUT, failure_text


def test_a_hard_time_limit_says_it_timed_out() -> None:
    text = failure_text("FAILURE", TimeLimitExceeded(12.0))
    assert text.startswith(TIMED_OUT)
    assert "(execution_timeout); the Celery worker killed the process running it" in text


def test_a_dead_child_process_and_a_revoke_are_named() -> None:
    lost = failure_text("FAILURE", WorkerLostError("Worker exited prematurely: signal 9"))
    assert lost == (
        "the Celery worker process running it died: Worker exited prematurely: signal 9"
    )
    assert failure_text("REVOKED", TaskRevokedError("revoked")) == (
        "killed: its Celery task was revoked"
    )
    assert failure_text("FAILURE", {"exc_type": "ValueError", "exc_message": "bad"}) == (
        "the Celery task failed: ValueError: bad"
    )
