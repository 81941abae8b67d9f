"""A backend that is down or hangs never fails nor holds up a task: events are dropped,
counted, and said once per outage; what is queued at exit is sent within a time limit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from lineage_receiver import LineageReceiver, refused_url, with_lineage

from headwater import DAG
from headwater.lineage.emitter import LineageEmitter, close_emitters, emitter_for
from headwater.lineage.transports import build_transport
from headwater.operators import PythonOperator
from headwater.settings import Settings
from headwater.settings_operations import LineageSettings
from headwater.testing import run_dag

START = datetime(2024, 3, 1, tzinfo=UTC)


def _three_tasks() -> DAG:
    with DAG("chain", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=lambda: 1)
        b = PythonOperator(task_id="b", python_callable=lambda: 2)
        c = PythonOperator(task_id="c", python_callable=lambda: 3)
        a >> b >> c
    return dag


def _dropped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "headwater.lineage.emitter" and r.levelno == logging.WARNING
    ]


def test_a_backend_that_refuses_connections_drops_events_with_one_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = refused_url()
    sending = with_lineage(settings, transport="http", url=url, timeout_s=1.0)

    result = run_dag(_three_tasks(), logical_date=START, settings=sending)
    emitter = emitter_for(sending.lineage)
    assert emitter is not None
    emitter.flush(timeout_s=10)

    assert result.run.state.value == "success"
    assert emitter.sent == 0
    assert emitter.dropped == 8  # the run's START and end, and two per task
    lines = _dropped_lines(caplog)
    assert len(lines) == 1
    assert f"events to {url}/api/v1/lineage are dropped" in lines[0]
    assert "Connection refused" in lines[0]


def test_a_backend_that_hangs_holds_up_no_task_and_exit_is_bounded(
    settings: Settings, receiver: LineageReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.hang.set()
    sending = with_lineage(settings, transport="http", url=receiver.url, timeout_s=0.2)

    result = run_dag(_three_tasks(), logical_date=START, settings=sending)
    assert result.run.state.value == "success"
    assert all(ti.state.value == "success" for ti in result.task_instances)

    emitter = emitter_for(sending.lineage)
    assert emitter is not None
    close_emitters(timeout_s=2)  # at exit: sends what it can within the limit, drops the rest
    assert emitter.sent == 0
    assert emitter.dropped == 8
    assert len(_dropped_lines(caplog)) == 1
    assert "timed out" in _dropped_lines(caplog)[0]


def test_a_full_queue_drops_new_events_without_waiting(
    receiver: LineageReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.hang.set()
    settings = LineageSettings(transport="http", url=receiver.url, timeout_s=5.0)
    emitter = LineageEmitter(
        build_transport(settings), target="the receiver", timeout_s=5.0, queue_size=2
    )
    try:
        for _ in range(10):
            emitter.emit({"not": "sent"})  # returns at once however slow the backend is
        assert emitter.dropped >= 7  # the thread holds one, the queue two
        assert len(_dropped_lines(caplog)) == 1
        assert "events wait already" in _dropped_lines(caplog)[0]
    finally:
        receiver.release.set()
        emitter.close(timeout_s=5)


def test_after_an_outage_the_next_event_tries_again_and_says_how_many_were_dropped(
    receiver: LineageReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    now = [0.0]
    settings = LineageSettings(transport="http", url=receiver.url)
    emitter = LineageEmitter(
        build_transport(settings),
        target="the receiver",
        timeout_s=5.0,
        outage_pause_s=60.0,
        monotonic=lambda: now[0],
    )

    def event(n: int) -> RunEvent:
        return RunEvent(
            eventType=RunState.START,
            eventTime=START.isoformat(),
            run=Run(runId=f"0190e3a4-0000-7000-8000-00000000000{n}"),
            job=Job(namespace="ns", name=f"job{n}"),
            producer="https://example.org/p",
        )

    caplog.set_level(logging.INFO, logger="headwater.lineage.emitter")
    receiver.failures_left = 1  # 503
    emitter.emit(event(1))
    emitter.emit(event(2))  # within the pause: dropped without trying
    emitter.flush(timeout_s=10)
    now[0] = 61.0
    emitter.emit(event(3))
    emitter.close(timeout_s=5)

    assert [e["job"]["name"] for e in receiver.events] == ["job3"]
    assert (emitter.sent, emitter.dropped) == (1, 2)
    messages = [r.getMessage() for r in caplog.records if r.name == "headwater.lineage.emitter"]
    assert len(_dropped_lines(caplog)) == 1
    assert "OpenLineage: the receiver answers again; 2 events were dropped meanwhile" in messages
