"""The scheduler with the local executor's standbys: a busy worker holds its next attempt, and
an idle one takes over what waits behind a long attempt; the claim keeps each to one run."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from scheduler_harness import Harness, wait_for

pytestmark = pytest.mark.slow

QUICK = [f"quick_{i}" for i in range(6)]


def test_attempts_waiting_behind_a_long_one_run_on_the_other_worker_once_each(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers and four attempts queued ahead: both busy workers get a standby, so one
    # waits behind the long task until the other worker, idle, takes it over.
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
    monkeypatch.setenv("HEADWATER__SCHEDULER__QUEUED_AHEAD", "4")
    ledger, started, release = tmp_path / "ledger", tmp_path / "started", tmp_path / "release"
    harness.write_dag(
        "standby",
        f"""
        import os, time

        def hold():
            Path({str(started)!r}).write_text(str(os.getpid()))
            deadline = time.monotonic() + 60
            while not Path({str(release)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.01)

        def quick(name):
            with open({str(ledger)!r}, "a") as ledger:
                ledger.write(f"{{name}} {{os.getpid()}}\\n")

        with DAG("standby", start_date=START, max_active_tasks=16):
            PythonOperator(task_id="long", python_callable=hold, priority_weight=100)
            for name in {QUICK!r}:
                PythonOperator(task_id=name, python_callable=quick, op_args=[name])
        """,
    )
    harness.process()
    run = harness.trigger("standby")
    harness.scheduler.tick()

    deadline = time.monotonic() + 60
    while any(harness.states("standby", run.run_id)[t] != "success" for t in QUICK):
        assert time.monotonic() < deadline, harness.states("standby", run.run_id)
        harness.step(tick=False, wait_s=0.2)
    assert harness.states("standby", run.run_id)["long"] == "running"  # still held
    # Its worker may not have reached the task's first line yet (it loads the DAG first).
    wait_for(lambda: started.exists() and started.read_text(), "the long task's code to start")
    long_pid = int(started.read_text())

    release.write_text("go")
    harness.run_until(harness.finished("standby", run.run_id))

    assert harness.run_state("standby", run.run_id) == "success"
    lines = [line.split() for line in ledger.read_text().splitlines()]
    assert Counter(name for name, _ in lines) == Counter(QUICK)  # each ran once
    assert long_pid not in {int(pid) for _, pid in lines}  # none waited for the long one
    for task_id in QUICK:
        [attempt] = harness.attempts("standby", run.run_id, task_id)
        assert (attempt.try_number, attempt.state.value) == (1, "success")
    # Whichever of two workers ran an attempt sent to both is the one recorded.
    attempts = [harness.attempts("standby", run.run_id, t)[0] for t in QUICK]
    assert {a.pid for a in attempts} == {int(pid) for _, pid in lines}
