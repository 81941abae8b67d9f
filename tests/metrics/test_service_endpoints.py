"""``headwater scheduler`` as a real process serving ``/metrics`` on its own port
(``[metrics] scheduler_port``), and the DAG processor it starts on another
(``dag_processor_port``): scraped over HTTP after a run of a small DAG with real workers."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import Harness
from scraping import Samples, free_port, labelled, scrape_url, value
from service_processes import ProcessTree, ended_within

from command_processes import wait_for
from headwater.clock import SystemClock

pytestmark = pytest.mark.slow

DAG = """
with DAG("served", start_date=START, schedule=None) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo extract")
    load = PythonOperator(task_id="load", python_callable=lambda: 42)
    extract >> load
"""


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "db" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def harness(sqlite_url: str, tmp_path: Path) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    h = Harness(sqlite_url, folder, SystemClock())  # type: ignore[arg-type]
    yield h
    h.store.close()


@pytest.fixture
def tree(tmp_path: Path, sqlite_url: str, harness: Harness) -> Iterator[ProcessTree]:
    made = ProcessTree(tmp_path, sqlite_url, harness.folder, parallelism="4")
    yield made
    made.kill_all()


def test_the_scheduler_and_its_dag_processor_serve_their_own_metrics(
    harness: Harness, tree: ProcessTree
) -> None:
    harness.write_dag("served", DAG)
    harness.process()
    # Written after the test's own scan: the scheduler's DAG processor imports it (and fails).
    (harness.folder / "broken.py").write_text("from headwater import DAG\nraise ValueError\n")
    scheduler_port, processor_port = free_port(), free_port()
    tree.env["HEADWATER__METRICS__SCHEDULER_PORT"] = str(scheduler_port)
    tree.env["HEADWATER__METRICS__DAG_PROCESSOR_PORT"] = str(processor_port)
    scheduler = tree.start("scheduler", "--quiet", "--no-triggerer")
    run = harness.trigger("served")
    wait_for(harness.finished("served", run.run_id), "the run to finish")
    assert harness.states("served", run.run_id) == {"extract": "success", "load": "success"}

    samples: Samples = {}

    def scraped_after_the_run() -> bool:
        nonlocal samples
        try:
            samples = scrape_url(f"http://127.0.0.1:{scheduler_port}/metrics")
        except OSError:  # not listening yet
            return False
        return value(samples, "headwater_dag_runs_ended_total", state="success") == 1

    wait_for(scraped_after_the_run, "the scheduler's metrics to show the run")
    # Per DAG by default ([metrics] task_durations_by_task is off): both attempts count there.
    count = value(samples, "headwater_task_duration_seconds_count", dag_id="served", task_id="")
    assert count == 2
    assert value(samples, "headwater_task_attempts_ended_total", state="success") == 2
    assert value(samples, "headwater_task_queued_to_start_seconds_count") == 2
    assert value(samples, "headwater_task_downstream_start_gap_seconds_count") == 1
    assert value(samples, "headwater_scheduler_loop_duration_seconds_count") >= 1
    assert labelled(samples, "headwater_dag_runs", "state")["success"] == 1
    assert value(samples, "headwater_pool_slots", pool="default_pool") == 128

    def parsed() -> bool:
        nonlocal samples
        try:
            samples = scrape_url(f"http://127.0.0.1:{processor_port}/metrics")
        except OSError:  # the DAG processor's server is not listening yet
            return False
        return value(samples, "headwater_dag_import_errors") == 1

    wait_for(parsed, "the DAG processor's metrics to show the broken file")
    assert value(samples, "headwater_dag_file_parse_duration_seconds_count") >= 1
    # Each process serves what it measured: the processor ran no task.
    assert value(samples, "headwater_task_attempts_ended_total", state="success") == 0

    scheduler.send_signal(signal.SIGTERM)
    assert ended_within(scheduler, 20), tree.output(scheduler)
    assert scheduler.returncode == 0, tree.output(scheduler)
