"""The scheduler with real worker processes, and as a real process killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, alive, wait_for

from command_processes import kill_workers
from headwater.clock import SystemClock

pytestmark = pytest.mark.slow


@pytest.fixture
def local_harness(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "4")
    return harness


def test_tasks_run_in_worker_processes_within_max_active_tasks(
    local_harness: Harness, tmp_path: Path
) -> None:
    spans = tmp_path / "spans"
    spans.mkdir()
    local_harness.write_dag(
        "limited",
        f"""
        import os, time

        def work(name):
            Path({str(spans)!r}, name + ".start").write_text(str(os.getpid()))
            time.sleep(0.2)
            Path({str(spans)!r}, name + ".end").write_text("")

        with DAG("limited", start_date=START, max_active_tasks=1):
            for name in ["a", "b", "c"]:
                PythonOperator(task_id=name, python_callable=work, op_args=[name])
        """,
    )
    local_harness.process()
    run = local_harness.trigger("limited")
    local_harness.scheduler.tick()
    queued = [s for s in local_harness.states("limited", run.run_id).values() if s != "scheduled"]
    assert len(queued) == 1  # max_active_tasks=1: one at a time although 4 workers wait
    local_harness.run_until(local_harness.finished("limited", run.run_id))
    assert local_harness.run_state("limited", run.run_id) == "success"
    pids = {int((spans / f"{n}.start").read_text()) for n in "abc"}
    assert os.getpid() not in pids
    attempts = [local_harness.attempts("limited", run.run_id, t)[0] for t in "abc"]
    assert {a.pid for a in attempts} == pids


def test_a_worker_that_dies_fails_the_attempt_and_the_retry_runs(
    local_harness: Harness, tmp_path: Path
) -> None:
    marker = tmp_path / "died-once"
    local_harness.write_dag(
        "crashy",
        f"""
        import os

        def crash_once():
            marker = Path({str(marker)!r})
            if not marker.exists():
                marker.write_text("x")
                os._exit(3)
            return "second time lucky"

        with DAG("crashy", start_date=START):
            PythonOperator(task_id="crash", python_callable=crash_once, retries=1,
                           retry_delay=timedelta(0))
        """,
    )
    local_harness.process()
    run = local_harness.trigger("crashy")
    local_harness.run_until(local_harness.finished("crashy", run.run_id))
    assert local_harness.run_state("crashy", run.run_id) == "success"
    first, second = local_harness.attempts("crashy", run.run_id, "crash")
    assert "exited with code 3" in (first.error or "")
    assert second.state.value == "success"
    assert first.pid != second.pid


def test_execution_timeout_stops_the_task(local_harness: Harness) -> None:
    local_harness.write_dag(
        "stuck",
        """
        import time

        with DAG("stuck", start_date=START):
            PythonOperator(task_id="sleepy", python_callable=lambda: time.sleep(120),
                           execution_timeout=timedelta(seconds=1))
        """,
    )
    local_harness.process()
    run = local_harness.trigger("stuck")
    local_harness.run_until(local_harness.finished("stuck", run.run_id))
    assert local_harness.states("stuck", run.run_id) == {"sleepy": "failed"}
    (attempt,) = local_harness.attempts("stuck", run.run_id, "sleepy")
    assert "timed out" in (attempt.error or "")


def test_an_attempt_that_ends_while_no_scheduler_runs_is_applied_not_run_again(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    release = tmp_path / "release"
    pids = tmp_path / "pids"
    (folder / "resumable.py").write_text(
        HEADER
        + f"""
import os, time

def hold():
    with open({str(pids)!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    while not Path({str(release)!r}).exists():
        time.sleep(0.05)
    return "released"

with DAG("resumable", start_date=START):
    PythonOperator(task_id="hold", python_callable=hold) >> EmptyOperator(task_id="after")
"""
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")},
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_DAGS_FOLDER": str(folder),
        "HEADWATER_DATABASE_URL": db_url,
        "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        "HEADWATER__SCHEDULER__DAG_DIR_LIST_INTERVAL_S": "0.5",
        "HEADWATER__SCHEDULER__PARALLELISM": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    harness = Harness(db_url, folder, SystemClock())  # type: ignore[arg-type]
    harness.process()
    run = harness.trigger("resumable")

    def start(*, keep_errors: bool) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "headwater", "scheduler", "--quiet"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if keep_errors else subprocess.DEVNULL,
        )

    def read_pids() -> list[int]:
        return [int(p) for p in pids.read_text().split()] if pids.exists() else []

    first = start(keep_errors=False)
    try:
        wait_for(lambda: read_pids(), "the task to start in a worker")
        wait_for(
            lambda: harness.states("resumable", run.run_id)["hold"] == "running",
            "the running state to be stored",
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        (worker,) = read_pids()
        # With no scheduler, the worker finishes its attempt, records how it ended, exits.
        release.write_text("go")
        wait_for(lambda: not alive(worker), "the orphaned worker to finish and exit")
        assert harness.states("resumable", run.run_id)["hold"] == "running"  # as it was left
        (recorded,) = harness.attempts("resumable", run.run_id, "hold")
        assert recorded.state.value == "success" and recorded.outcome is not None
        second = start(keep_errors=True)
        try:
            wait_for(harness.finished("resumable", run.run_id), "the run to finish")
            assert harness.run_state("resumable", run.run_id) == "success"
            assert read_pids() == [worker]  # its code ran once
            (attempt,) = harness.attempts("resumable", run.run_id, "hold")
            assert attempt.state.value == "success"
            assert harness.states("resumable", run.run_id) == {
                "hold": "success",
                "after": "success",
            }
            assert harness.xcom("resumable", run.run_id, "hold") == "released"
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=30)
            assert second.returncode == 0, err.decode()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        kill_workers(read_pids())  # one left by the killed scheduler, if the test failed
        harness.close()
