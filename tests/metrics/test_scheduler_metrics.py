"""What the scheduler measures, on a real database (SQLite and PostgreSQL) with the
in-process executor and a fake clock: queued-to-start latency, the gap between an upstream
task's end and its downstream task's start, task durations per DAG and task, attempts and
runs ended by state, its loop and its executor's open slots. Read from a ``/metrics`` page
(the API server's, in this process, as in ``standalone``). The registry belongs to the
process, so each test compares before and after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from scheduler_harness import Harness, at
from scraping import Samples, parse, value

from headwater.clock import FakeClock
from headwater.metrics.exposition import endpoint_registry, render
from headwater.settings import load_settings
from headwater.web.app import create_app

DAG = """
with DAG("measured", start_date=START, schedule=None) as dag:
    first = EmptyOperator(task_id="first")
    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    last = EmptyOperator(task_id="last")
    first >> [left, right]
    left >> last
"""
TASKS = ("first", "left", "right", "last")


@pytest.fixture
def harness(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "8")
    monkeypatch.setenv("HEADWATER__METRICS__TASK_DURATIONS_BY_TASK", "true")
    h = Harness(db_url, folder, FakeClock(at(4, 0, 30)))
    h.write_dag("measured", DAG)
    h.process()
    yield h
    h.close()


def scrape(harness: Harness) -> Samples:
    return parse(render(endpoint_registry(harness.store), None).body.decode())


def test_latency_durations_and_ends_after_a_run(harness: Harness) -> None:
    before = scrape(harness)
    run = harness.trigger("measured")
    scheduler, clock = harness.scheduler, harness.clock

    scheduler.tick()  # the run starts; "first" is queued
    clock.advance(timedelta(seconds=5))
    finished = scheduler.executor.poll(timeout=0)  # "first" starts (5 s after) and ends
    clock.advance(timedelta(seconds=7))
    scheduler.apply_outcomes(finished)  # its end is applied 7 s after its start
    scheduler.schedule_runs(clock.now())  # "left" and "right" are queued
    clock.advance(timedelta(seconds=2))
    scheduler.apply_outcomes(scheduler.executor.poll(timeout=0))  # "left" starts 2 s after
    middle = scrape(harness)
    harness.run_until(harness.finished("measured", run.run_id))
    scheduler.tick()  # the loop's next turn refreshes the executor's gauge
    after = scrape(harness)
    assert harness.states("measured", run.run_id) == dict.fromkeys(TASKS, "success")

    def delta(name: str, samples: Samples = after, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    # Values, from the fake clock: "first" waited 5 s and ran 7 s; "left" waited 2 s after
    # "first" ended (queued at once: the gap is the wait).
    # Sums since the scrape before: other tests in this process observed into the same
    # registry, so the difference of two sums carries float rounding.
    assert delta("headwater_task_queued_to_start_seconds_sum", middle) == pytest.approx(5 + 2)
    duration = "headwater_task_duration_seconds"
    assert delta(f"{duration}_sum", middle, dag_id="measured", task_id="first") == pytest.approx(7)
    gap = "headwater_task_downstream_start_gap_seconds"
    assert (delta(f"{gap}_count", middle), delta(f"{gap}_sum", middle)) == pytest.approx((1, 2))
    # Counts: one attempt of each task; a gap for each task with upstream tasks.
    assert delta("headwater_task_queued_to_start_seconds_count") == len(TASKS)
    for task_id in TASKS:
        assert delta(f"{duration}_count", dag_id="measured", task_id=task_id) == 1
    assert delta(f"{gap}_count") == 3
    assert delta("headwater_task_attempts_ended_total", state="success") == len(TASKS)
    assert delta("headwater_dag_runs_ended_total", state="success") == 1
    assert delta("headwater_scheduler_loop_duration_seconds_count") >= 1
    assert value(after, "headwater_executor_open_slots") == 8  # nothing queued or running


def test_failures_and_retries_are_counted_by_state(harness: Harness) -> None:
    harness.write_dag(
        "failing",
        """
        with DAG("failing", start_date=START, schedule=None) as dag:
            BashOperator(task_id="boom", bash_command="exit 3", retries=1,
                         retry_delay=timedelta(seconds=1))
        """,
    )
    harness.process()
    before = scrape(harness)
    run = harness.trigger("failing")

    def done() -> bool:
        harness.clock.advance(timedelta(seconds=1))  # the retry's delay passes
        return harness.run_state("failing", run.run_id) == "failed"

    harness.run_until(done)
    after = scrape(harness)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("headwater_task_attempts_ended_total", state="up_for_retry") == 1
    assert delta("headwater_task_attempts_ended_total", state="failed") == 1
    assert delta("headwater_dag_runs_ended_total", state="failed") == 1
    durations = "headwater_task_duration_seconds_count"
    assert delta(durations, dag_id="failing", task_id="boom") == 2  # both attempts
    assert value(after, "headwater_task_instances", state="failed") >= 1


def test_the_api_endpoint_of_the_same_process_shows_the_schedulers_metrics(
    harness: Harness,
) -> None:
    """``standalone``: the scheduler and the API server in one process share the registry."""
    run = harness.trigger("measured")
    harness.run_until(harness.finished("measured", run.run_id))
    with TestClient(create_app(load_settings())) as client:
        samples = parse(client.get("/metrics").text)
    count = "headwater_task_duration_seconds_count"
    assert value(samples, count, dag_id="measured", task_id="last") >= 1
    assert value(samples, "headwater_dag_runs", state="success") == 1
