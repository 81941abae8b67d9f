"""A real scheduler emits its runs' START and COMPLETE / FAIL; its worker processes emit the
task attempts' events, with the same parent run id (each process derives it alike), one by
one or in batches."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_receiver import LineageReceiver, schema_errors
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.lineage.emitter import close_emitters

pytestmark = pytest.mark.slow


@pytest.fixture
def harness(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    db = tmp_path / "headwater.db"
    shutil.copyfile(sqlite_template, db)
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
    monkeypatch.setenv("HEADWATER__LINEAGE__TRANSPORT", "file")
    monkeypatch.setenv("HEADWATER__LINEAGE__FILE_PATH", str(tmp_path / "lineage.jsonl"))
    monkeypatch.setenv("HEADWATER__LINEAGE__NAMESPACE", "scheduler-test")
    h = Harness(f"sqlite:///{db}", folder, FakeClock(at(4, 0, 30)))
    yield h
    h.close()


def test_a_scheduled_run_and_its_tasks_emit_their_events(harness: Harness, tmp_path: Path) -> None:
    harness.write_dag(
        "nightly",
        """
        def fail():
            raise RuntimeError("disk full")

        with DAG("nightly", start_date=START) as dag:
            ok = PythonOperator(task_id="ok", python_callable=lambda: 1)
            bad = PythonOperator(task_id="bad", python_callable=fail)
            ok >> bad
        """,
    )
    harness.process()
    run = harness.trigger("nightly")
    harness.run_until(harness.finished("nightly", run.run_id))
    assert harness.run_state("nightly", run.run_id) == "failed"
    harness.close()  # the workers exit, sending what they hold first
    harness._scheduler = None

    events = [json.loads(line) for line in (tmp_path / "lineage.jsonl").read_text().splitlines()]
    assert all(schema_errors(e) == [] for e in events)
    assert {e["job"]["namespace"] for e in events} == {"scheduler-test"}
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {
        "nightly": ["START", "FAIL"],
        "nightly.ok": ["START", "COMPLETE"],
        "nightly.bad": ["START", "FAIL"],
    }
    dag_events = [e for e in events if e["job"]["name"] == "nightly"]
    run_id = dag_events[0]["run"]["runId"]
    assert dag_events[1]["run"]["runId"] == run_id
    assert "failed tasks bad" in dag_events[1]["run"]["facets"]["errorMessage"]["message"]
    for event in events:
        if event["job"]["name"] != "nightly":
            assert event["run"]["facets"]["parent"]["run"]["runId"] == run_id
    bad_fail = [e for e in events if e["job"]["name"] == "nightly.bad"][-1]
    assert bad_fail["run"]["facets"]["errorMessage"]["message"] == "RuntimeError: disk full"


def test_worker_processes_send_their_events_in_batches(
    harness: Harness, receiver: LineageReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch wait no run sits out: the workers send what they hold as they exit.
    monkeypatch.setenv("HEADWATER__LINEAGE__TRANSPORT", "http")
    monkeypatch.setenv("HEADWATER__LINEAGE__URL", receiver.url)
    monkeypatch.setenv("HEADWATER__LINEAGE__BATCH_SIZE", "50")
    monkeypatch.setenv("HEADWATER__LINEAGE__BATCH_WAIT_S", "60")
    harness.write_dag(
        "fanout",
        """
        with DAG("fanout", start_date=START) as dag:
            root = PythonOperator(task_id="root", python_callable=lambda: 1)
            root >> [PythonOperator(task_id=f"t{n}", python_callable=lambda: 1) for n in range(6)]
        """,
    )
    harness.process()
    run = harness.trigger("fanout")
    harness.run_until(harness.finished("fanout", run.run_id))
    assert harness.run_state("fanout", run.run_id) == "success"
    harness.close()
    harness._scheduler = None
    close_emitters(timeout_s=5)  # the scheduler's own, in this process

    assert receiver.invalid == []
    assert {path for path, _ in receiver.requests} == {"/api/v1/lineage/batch"}
    # Each worker's events went in one request at its exit, the scheduler's in one at close.
    assert len(receiver.requests) <= 3
    by_job: dict[str, list[str]] = {}
    for event in receiver.events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {
        "fanout": ["START", "COMPLETE"],
        **{
            f"fanout.{task}": ["START", "COMPLETE"]
            for task in ["root", *(f"t{n}" for n in range(6))]
        },
    }
