"""Batches (``[lineage] batch_size`` above 1) against a real receiver on 127.0.0.1: events go
in one request to the batch endpoint once a batch is full, or at close, in their order; a
backend without the endpoint gets them one by one from then on; events a backend refuses
within a batch are dropped, counted and said once; a run's events arrive whole."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from lineage_receiver import LineageReceiver, with_lineage

from headwater import DAG
from headwater.lineage.emitter import LineageEmitter, emitter_for
from headwater.lineage.http_transport import JsonHttpTransport
from headwater.operators import PythonOperator
from headwater.settings import Settings
from headwater.testing import run_dag

START = datetime(2024, 3, 1, tzinfo=UTC)
LONG_WAIT_S = 60.0
"""A batch wait no test sits out: what arrives came because a batch was full, or at close."""


def _event(n: int, job: str = "etl.load") -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2024-03-01T00:00:00+00:00",
        "producer": "https://example.org/headwater",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"00000000-0000-4000-8000-{n:012d}"},
        "job": {"namespace": "test", "name": job},
    }


def _emitter(receiver: LineageReceiver, batch_size: int) -> LineageEmitter:
    transport = JsonHttpTransport(receiver.url, "api/v1/lineage", api_key="", timeout_s=5)
    return LineageEmitter(
        transport,
        target=transport.url,
        timeout_s=5,
        batch_size=batch_size,
        batch_wait_s=LONG_WAIT_S,
    )


def _settled(emitter: LineageEmitter, count: int) -> None:
    """Wait (10 s at most) until the emitter has sent or dropped ``count`` events."""
    deadline = time.monotonic() + 10
    while emitter.sent + emitter.dropped < count and time.monotonic() < deadline:
        time.sleep(0.01)


def _run_ids(receiver: LineageReceiver) -> list[int]:
    return [int(e["run"]["runId"].rsplit("-", 1)[1]) for e in receiver.events]


def test_a_full_batch_goes_at_once_in_one_request_in_order(receiver: LineageReceiver) -> None:
    emitter = _emitter(receiver, batch_size=5)
    for n in range(10):
        emitter.emit(_event(n))
    _settled(emitter, 10)

    assert _run_ids(receiver) == list(range(10))
    assert receiver.requests == [("/api/v1/lineage/batch", 5)] * 2
    assert receiver.invalid == []
    assert (emitter.sent, emitter.dropped) == (10, 0)
    emitter.close()


def test_close_sends_a_batch_that_is_not_full_without_waiting(receiver: LineageReceiver) -> None:
    emitter = _emitter(receiver, batch_size=100)
    for n in range(3):
        emitter.emit(_event(n))
    emitter.close(timeout_s=5)

    assert _run_ids(receiver) == [0, 1, 2]
    assert receiver.requests == [("/api/v1/lineage/batch", 3)]
    assert (emitter.sent, emitter.dropped) == (3, 0)


def test_a_backend_without_the_batch_endpoint_gets_events_one_by_one(
    receiver: LineageReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="headwater.lineage.emitter")
    receiver.batches = False
    emitter = _emitter(receiver, batch_size=3)
    for n in range(6):
        emitter.emit(_event(n))
    _settled(emitter, 6)

    assert _run_ids(receiver) == list(range(6))
    # One try of the batch endpoint; then each event, the first batch's included, on its own.
    assert receiver.requests == [("/api/v1/lineage/batch", 0)] + [("/api/v1/lineage", 1)] * 6
    assert (emitter.sent, emitter.dropped) == (6, 0)
    said = [r.getMessage() for r in caplog.records if r.name == "headwater.lineage.emitter"]
    assert said == [
        f"OpenLineage: {receiver.url}/api/v1/lineage/batch answered 404 Not Found; "
        "sending events one by one"
    ]
    emitter.close()


def test_events_refused_within_a_batch_are_dropped_counted_and_said_once(
    receiver: LineageReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.refuse = lambda event: "Unsupported facets" if event["job"]["name"] == "bad" else None
    emitter = _emitter(receiver, batch_size=4)
    for n in range(8):
        emitter.emit(_event(n, job="bad" if n in (1, 6) else "etl.load"))
    _settled(emitter, 8)
    emitter.close()

    assert _run_ids(receiver) == [0, 2, 3, 4, 5, 7]
    assert (emitter.sent, emitter.dropped, emitter.refused) == (6, 2, 2)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "headwater.lineage.emitter" and r.levelno == logging.WARNING
    ]
    assert warnings == [
        f"OpenLineage: {receiver.url}/api/v1/lineage refused 1 of 4 events of a batch "
        "(Unsupported facets); they are dropped"
    ]


def test_a_run_sends_all_its_events_in_batches(
    settings: Settings, receiver: LineageReceiver
) -> None:
    with DAG("chain", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=lambda: 1)
        b = PythonOperator(task_id="b", python_callable=lambda: 2)
        a >> b
    sending = with_lineage(
        settings, transport="http", url=receiver.url, batch_size=3, batch_wait_s=LONG_WAIT_S
    )

    result = run_dag(dag, logical_date=START, settings=sending)
    emitter = emitter_for(sending.lineage)
    assert emitter is not None
    assert emitter.flush(timeout_s=10)

    assert result.run.state.value == "success"
    assert [(e["job"]["name"], e["eventType"]) for e in receiver.events] == [
        ("chain", "START"),
        ("chain.a", "START"),
        ("chain.a", "COMPLETE"),
        ("chain.b", "START"),
        ("chain.b", "COMPLETE"),
        ("chain", "COMPLETE"),
    ]
    assert receiver.requests == [("/api/v1/lineage/batch", 3), ("/api/v1/lineage/batch", 3)]
    assert receiver.invalid == []
