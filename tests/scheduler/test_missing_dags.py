"""A run whose DAG disappeared (its file deleted, or the DAG no longer built by its file) ends
``failed`` once the DAG has been missing for ``scheduler.missing_dag_grace_s`` (300 s): its
unfinished instances end ``removed`` and an attempt still running is stopped, with the reason
on the run, the instances and the attempt. A DAG that comes back within the grace carries on.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import timedelta

import pytest
from click.testing import CliRunner
from scheduler_harness import Harness

from headwater.cli import cli
from headwater.engine.records import AttemptKey
from headwater.executors.base import AttemptStarted

GRACE = timedelta(seconds=300)  # scheduler.missing_dag_grace_s's default

BODY = """
with DAG("vanish", start_date=START):
    EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
    EmptyOperator(task_id="held", pool="gate")  # waits: the pool does not exist
"""


def delete_dag_file(harness: Harness, name: str) -> None:
    (harness.folder / f"{name}.py").unlink()
    harness.process()  # the DAG processor deactivates its DAG
    assert "vanish" not in {d.dag_id for d in harness.store.list_dags()}


def restore_dag_file(harness: Harness, name: str, body: str) -> None:
    path = harness.write_dag(name, body)
    os.utime(path, (path.stat().st_mtime + 10,) * 2)
    harness.process()


def test_a_run_whose_dag_file_was_deleted_fails_after_the_grace(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.write_dag("vanish", BODY)
    harness.process()
    run = harness.trigger("vanish")
    harness.step(wait_s=0)  # "first" runs; "second" is queued; "held" waits for its pool
    assert harness.states("vanish", run.run_id) == {
        "first": "success",
        "second": "queued",
        "held": "scheduled",
    }
    # "second" starts on a worker that is still running it when the DAG disappears.
    scheduler = harness.scheduler
    key = AttemptKey("vanish", run.run_id, "second", -1, 1)
    assert scheduler.prepare_attempt(key, 4242, socket.gethostname()) is not None
    now = harness.clock.now()
    scheduler.apply_started([AttemptStarted(key, socket.gethostname(), 4242, now)])
    scheduler.executor.kill(key)  # the in-process executor's queue: the "worker" has it
    killed: list[AttemptKey] = []
    real_kill = scheduler.executor.kill
    monkeypatch.setattr(scheduler.executor, "running", lambda: {} if killed else {key: 4242})
    monkeypatch.setattr(scheduler.executor, "kill", lambda k: (killed.append(k), real_kill(k)))

    delete_dag_file(harness, "vanish")
    harness.step(wait_s=0)
    harness.clock.advance(GRACE - timedelta(seconds=1))
    harness.step(wait_s=0)
    # Within the grace nothing changes: the file may be coming back.
    assert harness.run_state("vanish", run.run_id) == "running"
    assert harness.states("vanish", run.run_id) == {
        "first": "success",
        "second": "running",
        "held": "scheduled",
    }
    assert killed == []

    harness.clock.advance(timedelta(seconds=2))
    harness.step(wait_s=0)

    reason = (
        "its DAG 'vanish' is no longer defined by any DAG file (the file was deleted, or "
        "no longer builds it) for 300 s (scheduler.missing_dag_grace_s)"
    )
    stored = harness.store.get_dag_run("vanish", run.run_id)
    assert stored is not None and stored.state.value == "failed"
    assert stored.note == reason
    assert stored.end_date == harness.clock.now()
    assert harness.states("vanish", run.run_id) == {
        "first": "success",
        "second": "removed",
        "held": "removed",
    }
    tis = harness.tis("vanish", run.run_id)
    assert tis["held"].error == f"removed: {reason}"
    assert tis["first"].error is None
    [attempt] = harness.attempts("vanish", run.run_id, "second")
    assert attempt.state.value == "removed"
    assert attempt.error == f"removed: {reason}"
    assert killed == [key]  # its worker was stopped
    ended = harness.store.get_dag_run("vanish", run.run_id)
    assert ended is not None and (ended.state.value, ended.note) == ("failed", reason)

    # `dags state` shows why.
    result = CliRunner().invoke(cli, ["dags", "state", "vanish", run.run_id, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["note"] == reason

    # Nothing more happens to it, nor is anything scheduled for the DAG.
    harness.clock.advance(GRACE)
    harness.step(wait_s=0)
    assert harness.run_state("vanish", run.run_id) == "failed"
    assert len(harness.runs("vanish")) == 1


def test_a_dag_file_back_within_the_grace_lets_the_run_carry_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.write_dag("vanish", BODY)
    harness.process()
    run = harness.trigger("vanish")
    harness.scheduler.tick()  # "first" is handed to the executor
    assert harness.states("vanish", run.run_id)["first"] == "queued"

    delete_dag_file(harness, "vanish")
    harness.step(wait_s=0)  # "first" does not start while its DAG is missing: it waits again
    assert harness.states("vanish", run.run_id) == {
        "first": "scheduled",
        "second": "none",
        "held": "scheduled",
    }
    assert harness.attempts("vanish", run.run_id, "first") == []
    harness.clock.advance(GRACE - timedelta(seconds=10))
    harness.step(wait_s=0)
    assert harness.run_state("vanish", run.run_id) == "running"

    restore_dag_file(harness, "vanish", BODY)  # an editor's save, a git checkout
    with caplog.at_level(logging.INFO, logger="headwater.scheduler.missing_dags"):
        harness.step(wait_s=0)
    assert "DAG vanish is defined again; its queued and running runs carry on" in caplog.text
    harness.clock.advance(GRACE)  # long after the grace: the DAG is back, nothing ends
    harness.store.set_pool("gate", 1)
    harness.run_until(harness.finished("vanish", run.run_id))
    assert harness.run_state("vanish", run.run_id) == "success"
    assert harness.states("vanish", run.run_id) == {
        "first": "success",
        "second": "success",
        "held": "success",
    }
    assert [a.try_number for a in harness.attempts("vanish", run.run_id, "first")] == [1]
    stored = harness.store.get_dag_run("vanish", run.run_id)
    assert stored is not None and stored.note is None


def test_a_queued_run_of_a_dag_no_longer_in_its_file_fails_after_the_grace(
    harness: Harness,
) -> None:
    harness.write_dag("vanish", BODY)
    harness.write_dag(
        "other", 'with DAG("other", start_date=START):\n    EmptyOperator(task_id="x")\n'
    )
    harness.process()
    harness.scheduler.tick()
    run = harness.trigger("vanish")  # queued; the scheduler has not started it yet

    # The file now builds another DAG only: "vanish" is no longer defined.
    restore_dag_file(
        harness,
        "vanish",
        'with DAG("renamed", start_date=START):\n    EmptyOperator(task_id="x")\n',
    )
    harness.step(wait_s=0)
    assert harness.run_state("vanish", run.run_id) == "queued"
    harness.clock.advance(GRACE + timedelta(seconds=1))
    harness.step(wait_s=0)
    assert harness.run_state("vanish", run.run_id) == "failed"
    assert harness.states("vanish", run.run_id) == {
        "first": "removed",
        "second": "removed",
        "held": "removed",
    }
    stored = harness.store.get_dag_run("vanish", run.run_id)
    assert stored is not None and "no longer defined by any DAG file" in (stored.note or "")


def test_a_new_scheduler_ends_the_runs_of_a_dag_that_went_missing_before_it_started(
    harness: Harness,
) -> None:
    harness.write_dag("vanish", BODY)
    harness.process()
    run = harness.trigger("vanish")
    harness.step(wait_s=0)
    harness.scheduler.stop()
    harness._scheduler = None
    delete_dag_file(harness, "vanish")

    harness.step(wait_s=0)  # a new scheduler: the run's DAG is missing from the start
    assert harness.run_state("vanish", run.run_id) == "running"
    harness.clock.advance(GRACE + timedelta(seconds=1))
    harness.step(wait_s=0)
    assert harness.run_state("vanish", run.run_id) == "failed"
    assert harness.states("vanish", run.run_id) == {
        "first": "success",
        "second": "removed",
        "held": "removed",
    }
