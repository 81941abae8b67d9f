"""What the result backend says of the attempts a scheduler watches: started and ended tasks
read in one round trip on Redis, and how a Celery task that returned no outcome is told (the
words a user reads)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from billiard.exceptions import TimeLimitExceeded, WorkerLostError
from brokers import Broker
from celery.exceptions import TaskRevokedError

from headwater.celery_executor.app import build_app
from headwater.celery_executor.results import (
    TIMED_OUT,
    failure_text,
    read_reports,
    write_result,
    write_started,
)
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.settings_scale_out import CelerySettings


def test_reports_of_many_tasks_come_from_one_read_of_redis(
    redis_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = CelerySettings(
        broker_url=redis_broker.broker_url,
        result_backend=redis_broker.result_backend,
        key_prefix=redis_broker.key_prefix,
    )
    backend = build_app(settings).backend

    def not_on_redis(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a read before the write, or a MULTI with a PUBLISH")

    # The worker writes its marker and its result itself: one SET each, no read first.
    monkeypatch.setattr(backend, "get", not_on_redis)
    monkeypatch.setattr(backend, "_set", not_on_redis)
    for task_id in ("t-started", "t-ended"):  # as the worker says it, as its attempt starts
        write_started(_bound(backend, task_id), "w1@host", 41)
    success = AttemptOutcome(TaskInstanceState.SUCCESS).to_json()
    outcome: dict[str, Any] = {"outcome": success, "hostname": "w1@host", "pid": 41}
    write_result(_bound(backend, "t-ended"), outcome)  # the result wins over the marker
    ttl = backend.client.ttl(backend.get_key_for_task("t-ended"))
    assert 0 < ttl <= backend.expires  # results expire as Celery's own do

    def one_by_one(task_id: str, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"read {task_id} on its own: Redis is read in one MGET")

    monkeypatch.setattr(backend, "get_task_meta", one_by_one)
    reports = read_reports(backend, ["t-started", "t-ended", "t-queued"])
    assert set(reports) == {"t-started", "t-ended"}  # still queued: nothing to say
    assert (reports["t-started"].hostname, reports["t-started"].pid) == ("w1@host", 41)
    assert reports["t-started"].outcome is None
    ended = reports["t-ended"].outcome
    assert ended is not None and ended.state is TaskInstanceState.SUCCESS


def _bound(backend: Any, task_id: str) -> Any:
    """What a worker's bound task offers the writes (a Redis backend: results ignored)."""
    return SimpleNamespace(backend=backend, request=SimpleNamespace(id=task_id), ignore_result=True)


def test_only_a_redis_result_backend_is_written_by_the_task_itself(
    redis_broker: Broker,
) -> None:
    for backend, itself in ((redis_broker.result_backend, True), ("rpc://", False)):
        settings = CelerySettings(broker_url=redis_broker.broker_url, result_backend=backend)
        assert build_app(settings).tasks["headwater.run_attempt"].ignore_result is itself


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
