"""A deadline with real processes: ``headwater scheduler`` killed with SIGKILL while a slow
task runs; the next scheduler records the miss while the task still runs, and the DAG file's
callback is called once (it appends a line to a file). Every wait has a deadline."""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, wait_for
from service_processes import ProcessTree, ended_within

from headwater.clock import SystemClock
from headwater.store.deadlines import DONE, MISSED

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "db" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "dags"
    path.mkdir()
    return path


@pytest.fixture
def harness(sqlite_url: str, folder: Path) -> Iterator[Harness]:
    h = Harness(sqlite_url, folder, SystemClock())  # type: ignore[arg-type]
    yield h
    h.store.close()


@pytest.fixture
def tree(tmp_path: Path, sqlite_url: str, folder: Path) -> Iterator[ProcessTree]:
    made = ProcessTree(tmp_path, sqlite_url, folder)
    made.env["HEADWATER__DEADLINES__CHECK_INTERVAL_S"] = "0.1"
    yield made
    made.kill_all()


def test_a_miss_survives_a_killed_scheduler_and_fires_once_while_the_task_runs(
    tmp_path: Path, folder: Path, harness: Harness, tree: ProcessTree
) -> None:
    started, release, calls = tmp_path / "started", tmp_path / "release", tmp_path / "calls"
    (folder / "slow.py").write_text(
        HEADER
        + textwrap.dedent(
            f"""
            import time
            from headwater import Deadline, DeadlineReference

            def hold():
                Path({str(started)!r}).write_text("running")
                for _ in range(2400):  # at most two minutes
                    if Path({str(release)!r}).exists():
                        return
                    time.sleep(0.05)

            def write_call(context):
                with open({str(calls)!r}, "a") as out:
                    out.write(context["run_id"] + " " + context["reason"] + "\\n")

            with DAG(
                "slow",
                start_date=START,
                deadline=Deadline(
                    reference=DeadlineReference.STARTED_AT,
                    interval=timedelta(seconds=4),
                    callback=write_call,
                ),
            ):
                PythonOperator(task_id="hold", python_callable=hold)
            """
        )
    )
    harness.process()
    first = tree.start("scheduler", "--quiet")
    run = harness.trigger("slow")
    wait_for(started.exists, "the slow task to start")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()

    second = tree.start("scheduler", "--quiet")
    wait_for(lambda: harness.store.list_deadline_misses(["slow"])[1] == 1, "the miss", 60)
    [miss] = harness.store.list_deadline_misses(["slow"])[0]
    assert miss.status == MISSED and miss.reason == "the run is not finished (running)"
    wait_for(
        lambda: harness.store.get_deadline(miss.id).callback_state == DONE,  # type: ignore[union-attr]
        "the callback",
    )
    assert not release.exists() and harness.states("slow", run.run_id) == {"hold": "running"}
    assert calls.read_text().splitlines() == [f"{run.run_id} the run is not finished (running)"]

    release.write_text("go")
    wait_for(harness.finished("slow", run.run_id), "the run to finish", 60)
    second.send_signal(signal.SIGTERM)
    assert ended_within(second, 30), tree.output(second)
    assert harness.store.list_deadline_misses(["slow"])[1] == 1
    assert len(calls.read_text().splitlines()) == 1
