"""``headwater scheduler``, ``dag-processor`` and ``standalone`` as real processes: workers
start on demand and retire when idle, SIGINT and SIGTERM stop every process at any moment
(start-up included), and workers that cannot start stop the scheduler with one line.

Everything a test starts runs in its own session with a marker in its environment, and is
killed when the test ends (``ProcessTree``); every wait has a deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, wait_for
from service_processes import ProcessTree, command_line, ended_within

from headwater.clock import SystemClock

pytestmark = pytest.mark.slow

STOP_BOUND_S = 20.0
"""How long a stopping command may take in these tests: a few seconds plus kill_grace_s
(1 s here), with room for two CPUs shared with other work."""


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated SQLite database: signals and processes do not depend on the database."""
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


def make_tree(tmp_path: Path, sqlite_url: str, folder: Path, **settings: str) -> ProcessTree:
    return ProcessTree(tmp_path, sqlite_url, folder, **settings)


@pytest.fixture
def trees() -> Iterator[list[ProcessTree]]:
    made: list[ProcessTree] = []
    yield made
    for tree in made:
        tree.kill_all()


def write_dag(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def scheduler_passes(harness: Harness, count: int) -> None:
    """Wait until the scheduler's job heartbeat has moved ``count`` times (it ran passes)."""
    seen: list[datetime] = []

    def moved() -> bool:
        jobs = harness.store.list_jobs(kind="scheduler")
        if jobs and jobs[-1].ended_at is None and jobs[-1].heartbeat_at not in seen:
            seen.append(jobs[-1].heartbeat_at)
        return len(seen) > count

    wait_for(moved, f"{count} scheduler heartbeats", 60)


def test_workers_start_when_tasks_need_them_and_retire_when_idle(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness, trees: list[ProcessTree]
) -> None:
    release = tmp_path / "release"
    started = tmp_path / "started"
    started.mkdir()
    write_dag(
        folder,
        "trio",
        f"""
        import os, time

        def hold(name):
            Path({str(started)!r}, name).write_text(str(os.getpid()))
            while not Path({str(release)!r}).exists():
                time.sleep(0.05)

        with DAG("trio", start_date=START):
            for name in ["a", "b", "c"]:
                PythonOperator(task_id=name, python_callable=hold, op_args=[name])
        """,
    )
    harness.process()
    tree = make_tree(tmp_path, sqlite_url, folder, parallelism="64", worker_idle_timeout_s="1")
    trees.append(tree)
    scheduler = tree.start("scheduler", "--quiet")

    scheduler_passes(harness, 3)
    assert tree.workers() == [] and tree.fork_servers() == [], tree.described()

    run = harness.trigger("trio")
    # A task's file exists a moment before its pid is written in it.
    wait_for(lambda: sum(1 for p in started.iterdir() if p.read_text()) == 3, "the three tasks")
    pids = {int(p.read_text()) for p in started.iterdir()}
    assert set(tree.workers()) == pids  # one worker per running task, not 64
    release.write_text("go")
    wait_for(harness.finished("trio", run.run_id), "the run to finish")
    assert harness.run_state("trio", run.run_id) == "success"

    wait_for(lambda: not tree.workers() and not tree.fork_servers(), "idle workers to exit")
    # The resource tracker the fork server started goes with it: the scheduler and its DAG
    # processor are left, as when no worker had started yet.
    wait_for(lambda: not tree.resource_trackers(), "the resource tracker to exit", 10)
    assert len(tree.pids()) == 2, tree.described()
    assert scheduler.poll() is None
    scheduler.send_signal(signal.SIGTERM)
    assert ended_within(scheduler, STOP_BOUND_S)
    assert scheduler.returncode == 0, tree.output(scheduler)
    wait_for(lambda: not tree.pids(), "every process of the scheduler to end", 10)


HANGING_FILE = """
# A headwater DAG file whose import hangs.
import time
from pathlib import Path

Path({marker!r}).write_text("importing")
time.sleep(600)
"""

BUSY_DAG = """
with DAG("busy", start_date=START):
    BashOperator(task_id="sleeper", bash_command="touch {started} && sleep 600")
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", ["at_start", "busy"])
@pytest.mark.parametrize("command", ["scheduler", "dag-processor", "standalone"])
def test_a_signal_at_any_moment_ends_every_process_in_bounded_time(
    tmp_path: Path,
    sqlite_url: str,
    folder: Path,
    harness: Harness,
    trees: list[ProcessTree],
    command: str,
    moment: str,
    sig: signal.Signals,
) -> None:
    importing = tmp_path / "importing"
    task_started = tmp_path / "task-started"
    write_dag(folder, "busy", BUSY_DAG.format(started=task_started))
    harness.process()
    run = harness.trigger("busy")
    # Written after the test's own scan: the command's scan finds it and hangs on it.
    (folder / "hang.py").write_text(HANGING_FILE.format(marker=str(importing)))
    tree = make_tree(tmp_path, sqlite_url, folder, file_parse_timeout_s="300")
    trees.append(tree)
    process = tree.start(command, "--quiet")

    if moment == "busy":
        # scheduler: a task runs (its command in a session of its own) and the DAG
        # processor child imports a file that hangs; dag-processor: that import;
        # standalone: its first scan, during start-up, stuck on that file.
        wait_for(importing.exists, "the hanging DAG file to be imported")
        if command == "scheduler":
            wait_for(task_started.exists, "the task to start")
            assert tree.workers(), tree.described()
        assert len(tree.pids()) > 1, tree.described()
    process.send_signal(sig)

    assert ended_within(process, STOP_BOUND_S), tree.described()
    wait_for(lambda: not tree.pids(), f"every process to end: {tree.described()}", 10)
    output = tree.output(process)
    if moment == "busy":
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
    if command == "scheduler" and moment == "busy":
        assert harness.states("busy", run.run_id) == {"sleeper": "scheduled"}  # runs again


def test_a_second_sigint_forces_the_stop(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness, trees: list[ProcessTree]
) -> None:
    started = tmp_path / "started"
    write_dag(
        folder,
        "stubborn",
        f"""
        import signal, time

        def ignore_sigterm():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            Path({str(started)!r}).write_text("started")
            time.sleep(600)

        with DAG("stubborn", start_date=START):
            PythonOperator(task_id="stubborn", python_callable=ignore_sigterm)
        """,
    )
    harness.process()
    harness.trigger("stubborn")
    # A task that ignores SIGTERM holds a clean stop for kill_grace_s: ten minutes here.
    tree = make_tree(tmp_path, sqlite_url, folder, kill_grace_s="600")
    trees.append(tree)
    scheduler = tree.start("scheduler", "--quiet")
    wait_for(started.exists, "the task to start")
    processor = [pid for pid in tree.pids() if "dag-processor" in command_line(pid)]
    assert processor, tree.described()

    scheduler.send_signal(signal.SIGINT)
    # The first signal is handled: the DAG processor child is told to stop at once.
    wait_for(lambda: not any(p in tree.pids() for p in processor), "the DAG processor to stop")
    assert scheduler.poll() is None  # the clean stop waits for the stubborn task
    scheduler.send_signal(signal.SIGINT)

    assert ended_within(scheduler, STOP_BOUND_S), tree.described()
    wait_for(lambda: not tree.pids(), f"every process to end: {tree.described()}", 10)
    assert scheduler.returncode == 1
    assert tree.output(scheduler).strip().splitlines()[-1] == "Aborted!"


LAUNCHER = """\
# A launcher script without an `if __name__ == "__main__":` guard, on purpose.
{setup}
print("launcher banner", flush=True)
from headwater.cli import main

main(["scheduler", "--no-dag-processor"])
"""


def test_a_launcher_script_without_a_main_guard_runs_once(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness, trees: list[ProcessTree]
) -> None:
    write_dag(
        folder,
        "simple",
        """
        with DAG("simple", start_date=START):
            PythonOperator(task_id="one", python_callable=lambda: 1) >> EmptyOperator(
                task_id="two"
            )
        """,
    )
    harness.process()
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER.format(setup=""))
    tree = make_tree(tmp_path, sqlite_url, folder, parallelism="4")
    trees.append(tree)
    scheduler = tree.start(script=launcher)
    run = harness.trigger("simple")

    wait_for(harness.finished("simple", run.run_id), "the run to finish")
    assert harness.run_state("simple", run.run_id) == "success"
    scheduler.send_signal(signal.SIGTERM)
    assert ended_within(scheduler, STOP_BOUND_S)
    output = tree.output(scheduler)
    assert scheduler.returncode == 0, output
    assert output.count("launcher banner") == 1, output  # workers did not run it again
    assert "another scheduler" not in output


def test_workers_that_cannot_start_stop_the_scheduler_with_one_line(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness, trees: list[ProcessTree]
) -> None:
    import broken_worker

    write_dag(
        folder,
        "simple",
        """
        with DAG("simple", start_date=START):
            PythonOperator(task_id="one", python_callable=lambda: 1)
        """,
    )
    harness.process()
    shutil.copy(broken_worker.__file__, tmp_path / "broken_worker.py")
    launcher = tmp_path / "launcher.py"
    # The test-only hook: a worker function that loads here but fails in every worker.
    launcher.write_text(
        LAUNCHER.format(
            setup="import headwater.scheduler.service as service\n"
            'service.WORKER_FUNCTION = "broken_worker:run"'
        )
    )
    tree = make_tree(tmp_path, sqlite_url, folder, worker_start_attempts="3")
    trees.append(tree)
    run = harness.trigger("simple")
    scheduler = tree.start(script=launcher)

    assert ended_within(scheduler, 60), tree.described()
    output = tree.output(scheduler)
    assert scheduler.returncode == 1, output
    last = output.strip().splitlines()[-1]
    assert last == (
        "Error: worker processes cannot start: cannot load broken_worker:run: RuntimeError: "
        f"{broken_worker.FAILURE} (3 failed starts in a row, setting "
        "scheduler.worker_start_attempts)"
    ), output
    flat = " ".join(output.split())  # log lines may be wrapped
    assert flat.count(broken_worker.FAILURE) == 2, output  # logged once, then the error
    assert "Traceback" not in output
    assert output.count("launcher banner") == 1
    wait_for(lambda: not tree.pids(), f"every process to end: {tree.described()}", 10)
    assert harness.states("simple", run.run_id) == {"one": "scheduled"}  # nothing lost


def test_ctrl_c_in_a_terminal_stops_the_scheduler_and_its_processor_cleanly(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness, trees: list[ProcessTree]
) -> None:
    importing = tmp_path / "importing"
    task_started = tmp_path / "task-started"
    write_dag(folder, "busy", BUSY_DAG.format(started=task_started))
    harness.process()
    harness.trigger("busy")
    (folder / "hang.py").write_text(HANGING_FILE.format(marker=str(importing)))
    tree = make_tree(tmp_path, sqlite_url, folder, file_parse_timeout_s="300")
    trees.append(tree)
    scheduler = tree.start("scheduler")
    wait_for(importing.exists, "the hanging DAG file to be imported")
    wait_for(task_started.exists, "the task to start")

    # A terminal sends Ctrl-C's SIGINT to its whole foreground process group: one stop,
    # not a clean one for the scheduler and a forced one for its DAG processor.
    os.killpg(scheduler.pid, signal.SIGINT)

    assert ended_within(scheduler, STOP_BOUND_S), tree.described()
    wait_for(lambda: not tree.pids(), f"every process to end: {tree.described()}", 10)
    output = tree.output(scheduler)
    assert scheduler.returncode == 0, output
    assert "Aborted!" not in output
    assert "Traceback" not in output


def test_the_dag_processor_child_is_told_to_stop_once(
    tmp_path: Path, sqlite_url: str, folder: Path, trees: list[ProcessTree]
) -> None:
    importing = tmp_path / "importing"
    (folder / "hang.py").write_text(HANGING_FILE.format(marker=str(importing)))
    tree = make_tree(tmp_path, sqlite_url, folder, file_parse_timeout_s="300")
    trees.append(tree)
    scheduler = tree.start("scheduler")
    wait_for(importing.exists, "the hanging DAG file to be imported")

    # The scheduler stops at once (nothing runs) while its DAG processor child is still
    # stopping its scan: a second SIGTERM would force that stop ("Aborted!", code 1).
    scheduler.send_signal(signal.SIGTERM)

    assert ended_within(scheduler, STOP_BOUND_S), tree.described()
    wait_for(lambda: not tree.pids(), f"every process to end: {tree.described()}", 10)
    output = tree.output(scheduler)
    assert scheduler.returncode == 0, output
    assert "Aborted!" not in output, output
