"""The scheduler's process life cycle: a task never runs twice at once after the scheduler is
killed, a stopped scheduler records what it cut short, and ``tasks logs`` follows attempts to
their end and says what is missing. Real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, alive, wait_for

from command_processes import kill_workers
from headwater.cli import tasks as tasks_cli
from headwater.clock import SystemClock
from headwater.dag_processing.serialized_dag import deserialize_dag
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptKey, DagRun, TaskAttempt, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.operations._stored import xcoms_for
from headwater.runtime.logs import attempt_log_path
from headwater.scheduler.scheduler import LOST_REASON, STOPPED_REASON
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import invoke, run_now, store_dags

pytestmark = pytest.mark.slow

LINUX = sys.platform.startswith("linux")


class Processes:
    """A DAG folder, a database and the environment of real ``headwater`` processes."""

    def __init__(self, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = tmp_path / "dags"
        self.folder.mkdir()
        self.pids = tmp_path / "pids"
        self.release = tmp_path / "release"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")},
            "HEADWATER_HOME": str(tmp_path / "home"),
            "HEADWATER_DAGS_FOLDER": str(self.folder),
            "HEADWATER_DATABASE_URL": db_url,
            "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
            "HEADWATER__SCHEDULER__DAG_DIR_LIST_INTERVAL_S": "0.5",
            "HEADWATER__SCHEDULER__PARALLELISM": "2",
            "HEADWATER__SCHEDULER__KILL_GRACE_S": "1",
        }
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)
        self.harness = Harness(db_url, self.folder, SystemClock())  # type: ignore[arg-type]
        self.children: list[subprocess.Popen[bytes]] = []

    def write_dag(self, name: str, body: str) -> None:
        (self.folder / f"{name}.py").write_text(HEADER + body)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """``headwater ARGS...``; its output goes to files (:meth:`output`), not to pipes
        its children (the DAG processor, the workers) would inherit and hold open."""
        n = len(self.children)
        with self.out(n).open("wb") as out, self.out(n, "err").open("wb") as err:
            child = subprocess.Popen(
                [sys.executable, "-m", "headwater", *args], env=self.env, stdout=out, stderr=err
            )
        self.children.append(child)
        return child

    def out(self, n: int, stream: str = "out") -> Path:
        return self.folder.parent / f"process-{n}.{stream}"

    def output(self, child: subprocess.Popen[bytes], stream: str = "out") -> str:
        return self.out(self.children.index(child), stream).read_text()

    def stopped(self, child: subprocess.Popen[bytes]) -> None:
        """Wait for ``child`` (stopped with SIGTERM) and check that it exited 0."""
        assert child.wait(timeout=60) == 0, self.output(child, "err")

    def scheduler(self) -> subprocess.Popen[bytes]:
        # DAGs are stored by the harness: no DAG processor that could outlive the test.
        return self.start("scheduler", "--quiet", "--no-dag-processor")

    def read_pids(self) -> list[int]:
        return [int(p) for p in self.pids.read_text().split()] if self.pids.exists() else []

    def close(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=60)
        kill_workers(self.read_pids())  # left by a scheduler killed midway (tasks hold)
        self.harness.close()


@pytest.fixture
def processes(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Processes]:
    p = Processes(db_url, tmp_path, monkeypatch)
    yield p
    p.close()


HOLD = """
import os, time

def hold():
    with open({pids!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    print("holding", flush=True)
    while not Path({release!r}).exists():
        time.sleep(0.05)
    return "released"

with DAG("holding", start_date=START):
    PythonOperator(task_id="hold", python_callable=hold, retries=0) >> EmptyOperator(
        task_id="after"
    )
"""


STUBBORN = """
import os, time

def stubborn():
    with open({pids!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    while True:  # swallows SIGTERM, the soft timeout, everything it can
        try:
            time.sleep(100)
        except BaseException:
            pass

with DAG("stubborn", start_date=START):
    PythonOperator(task_id="hold", python_callable=stubborn,
                   execution_timeout=timedelta(seconds={timeout}))
"""


def _killed_mid_attempt(processes: Processes, dag_id: str, body: str) -> tuple[DagRun, int]:
    """Run ``dag_id`` (its task ``hold`` writes its pid) under a scheduler, and kill that
    scheduler with SIGKILL once the task runs; returns the run and the task's worker pid."""
    processes.write_dag(dag_id, body)
    harness = processes.harness
    harness.process()
    run = harness.trigger(dag_id)
    first = processes.scheduler()
    wait_for(processes.read_pids, "the task to start in a worker")
    wait_for(
        lambda: harness.states(dag_id, run.run_id)["hold"] == "running",
        "the running state to be stored",
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    (worker,) = processes.read_pids()
    return run, worker


@pytest.mark.skipif(not LINUX, reason="workers are adopted through pidfds (Linux)")
def test_a_worker_left_running_by_a_killed_scheduler_is_adopted_and_never_runs_twice(
    processes: Processes,
) -> None:
    holding = HOLD.format(pids=str(processes.pids), release=str(processes.release))
    run, worker = _killed_mid_attempt(processes, "holding", holding)
    harness = processes.harness

    second = processes.scheduler()
    wait_for(
        lambda: f"Adopted worker process {worker}" in processes.output(second, "err"),
        "the new scheduler to adopt the worker",
    )
    assert alive(worker)  # it goes on with its attempt
    processes.release.write_text("go")
    wait_for(harness.finished("holding", run.run_id), "the run to finish")
    second.send_signal(signal.SIGTERM)
    processes.stopped(second)
    assert harness.run_state("holding", run.run_id) == "success"
    assert processes.read_pids() == [worker]  # ran once
    (attempt,) = harness.attempts("holding", run.run_id, "hold")
    assert attempt.state is TaskInstanceState.SUCCESS and attempt.pid == worker


@pytest.mark.skipif(not LINUX, reason="workers are adopted through pidfds (Linux)")
def test_an_adopted_task_that_ignores_signals_is_killed_at_its_execution_timeout(
    processes: Processes,
) -> None:
    stubborn = STUBBORN.format(pids=str(processes.pids), timeout=8)
    run, worker = _killed_mid_attempt(processes, "stubborn", stubborn)
    harness = processes.harness

    second = processes.scheduler()
    wait_for(harness.finished("stubborn", run.run_id), "the run to end at the timeout")
    assert not alive(worker)
    assert processes.read_pids() == [worker]  # never run again
    (attempt,) = harness.attempts("stubborn", run.run_id, "hold")
    assert attempt.state is TaskInstanceState.FAILED
    assert "timed out after 8 s (execution_timeout)" in (attempt.error or "")
    second.send_signal(signal.SIGTERM)
    processes.stopped(second)


def _fake_worker(name: str) -> subprocess.Popen[bytes]:
    """A process that ignores SIGTERM, named ``name`` (a leftover worker is headwater-wrk)."""
    code = (
        "import ctypes, signal, sys, time\n"
        "ctypes.CDLL(None).prctl(15, ctypes.c_char_p(sys.argv[1].encode()), 0, 0, 0)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    return child


def _leave_running_attempt(harness: Harness, dag_id: str, pid: int, started: datetime) -> str:
    """Store what a scheduler killed mid-attempt leaves: the instance running in ``pid``."""
    run = harness.trigger(dag_id)
    row = harness.store.get_dag(dag_id)
    assert row is not None and row.serialized is not None
    engine = DagRunEngine.load(
        deserialize_dag(row.serialized), harness.store, xcoms_for(harness.store), dag_id, run.run_id
    )
    engine.start(started)
    tis = engine.schedule(started)
    engine.mark_queued(tis)
    (ti,) = tis
    engine.start_attempt(ti.task_id, ti.map_index, started, hostname=socket.gethostname(), pid=pid)
    return run.run_id


@pytest.mark.skipif(not LINUX, reason="worker processes are recognised through /proc")
@pytest.mark.parametrize(
    ("name", "started_ago", "adopted"),
    [
        ("headwater-wrk", timedelta(0), True),  # a worker left running: adopted
        ("unrelated", timedelta(0), False),  # another program that reused the pid
        ("headwater-wrk", timedelta(minutes=5), False),  # a newer worker that reused the pid
    ],
)
def test_a_new_scheduler_adopts_only_a_worker_left_running_by_the_last_one(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    started_ago: timedelta,
    adopted: bool,
) -> None:
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "1")
    harness.write_dag(
        "quick",
        """
        with DAG("quick", start_date=START):
            PythonOperator(task_id="work", python_callable=lambda: "done")
        """,
    )
    harness.process()
    leftover = _fake_worker(name)
    try:
        # The attempt started after the leftover worker (or, for a newer process with its
        # pid, long before it).
        started = datetime.now(UTC) + timedelta(seconds=1) - started_ago
        run_id = _leave_running_attempt(harness, "quick", leftover.pid, started)
        scheduler = harness.scheduler  # starting, it finds the attempt left running
        key = AttemptKey("quick", run_id, "work", -1, 1)
        assert (key in scheduler.executor.running()) is adopted
        assert leftover.poll() is None  # never killed
        if adopted:
            # It ends without recording an outcome: it may never have received the attempt
            # (its scheduler died sending it), so the attempt is lost and runs again.
            leftover.kill()
            harness.run_until(harness.finished("quick", run_id))
            attempts = harness.attempts("quick", run_id, "work")
            lost, rerun = sorted(attempts, key=lambda a: a.try_number)
            assert lost.state is TaskInstanceState.FAILED
            assert "ended without recording how the attempt ended" in (lost.error or "")
            assert rerun.state is TaskInstanceState.SUCCESS
            ti = harness.tis("quick", run_id)["work"]
            assert (ti.state, ti.try_number, ti.max_tries) == (TaskInstanceState.SUCCESS, 2, 2)
        else:
            lost = harness.attempts("quick", run_id, "work")[0]
            assert lost.state is TaskInstanceState.FAILED and lost.error == LOST_REASON
            harness.run_until(harness.finished("quick", run_id))
            assert harness.states("quick", run_id) == {"work": "success"}
    finally:
        leftover.kill()
        leftover.communicate()


def test_a_stopped_scheduler_records_the_attempts_it_stopped(processes: Processes) -> None:
    processes.write_dag(
        "holding", HOLD.format(pids=str(processes.pids), release=str(processes.release))
    )
    harness = processes.harness
    harness.process()
    run = harness.trigger("holding")
    first = processes.scheduler()
    wait_for(processes.read_pids, "the task to start in a worker")
    wait_for(
        lambda: harness.states("holding", run.run_id)["hold"] == "running",
        "the running state to be stored",
    )
    follow = processes.start("tasks", "logs", "holding", run.run_id, "hold", "--follow")
    (attempt,) = harness.attempts("holding", run.run_id, "hold")
    assert attempt.log_path is not None
    log = Path(attempt.log_path)
    wait_for(lambda: log.is_file() and "holding" in log.read_text(), "the task's log line")

    tries_before = harness.tis("holding", run.run_id)["hold"].max_tries
    first.send_signal(signal.SIGTERM)
    processes.stopped(first)
    (stopped,) = harness.attempts("holding", run.run_id, "hold")
    assert stopped.state is TaskInstanceState.FAILED
    assert stopped.end_date is not None and stopped.error == STOPPED_REASON
    assert f"{{ERROR}} Attempt 1: {STOPPED_REASON}" in log.read_text()
    ti = harness.tis("holding", run.run_id)["hold"]
    assert ti.state is TaskInstanceState.SCHEDULED
    assert (ti.try_number, ti.max_tries) == (1, tries_before + 1)  # not counted as a retry
    processes.stopped(follow)  # --follow ended with the attempt
    assert "holding" in processes.output(follow)
    assert STOPPED_REASON in processes.output(follow)

    processes.release.write_text("go")
    second = processes.scheduler()
    wait_for(harness.finished("holding", run.run_id), "the run to finish")
    second.send_signal(signal.SIGTERM)
    processes.stopped(second)
    assert harness.run_state("holding", run.run_id) == "success"
    assert harness.states("holding", run.run_id) == {"hold": "success", "after": "success"}
    stopped, rerun = harness.attempts("holding", run.run_id, "hold")
    assert rerun.state is TaskInstanceState.SUCCESS


# -- tasks logs --------------------------------------------------------------------------------


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """etl, flaky and partly of ``stored_dags`` in a migrated database the CLI uses."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    with SqlStore.from_url(db_url) as store:
        store_dags(store, tmp_path / "dags")
        yield store


@pytest.fixture
def ran(store: SqlStore, tmp_path: Path, settings: Settings) -> SqlStore:
    """Run r1 of flaky (after ends upstream_failed, never attempted) and of etl (mapped)."""
    run_now(store, tmp_path / "dags", "flaky", "r1", settings)
    run_now(store, tmp_path / "dags", "etl", "r1", settings)
    return store


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nope", "r1", "boom"], "no DAG 'nope' in the database (active DAGs: etl, flaky"),
        (["flaky", "r9", "boom"], "DAG 'flaky' has no run 'r9'"),
        (["flaky", "r1", "nope"], "run 'r1' of DAG 'flaky' has no task 'nope'"),
        (
            ["etl", "r1", "double", "--map-index", "7"],
            "task 'double' of run 'r1' has no map index 7; its map indexes: 0, 1, 2 "
            "(use --map-index)",
        ),
        (
            ["etl", "r1", "double"],
            "task 'double' of run 'r1' has no map index -1; its map indexes: 0, 1, 2 "
            "(use --map-index)",
        ),
        (["flaky", "r1", "after"], "task instance 'after' of run 'r1' has no attempts yet"),
    ],
)
@pytest.mark.parametrize("follow", [False, True])
def test_logs_say_what_is_missing(ran: SqlStore, args: list[str], error: str, follow: bool) -> None:
    result = invoke("tasks", "logs", *args, *(["--follow"] if follow else []))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {error}"), result.stderr


def test_follow_waits_for_the_first_attempt_and_follows_it_to_its_end(
    store: SqlStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks_cli, "FOLLOW_POLL_S", 0.02)
    invoke("dags", "trigger", "flaky", "--run-id", "live")
    key = TaskInstanceKey("flaky", "live", "start")
    path = Path(attempt_log_path(settings.logs_folder, key, 1))
    started = threading.Event()

    def scheduler_starts_then_ends_the_attempt() -> None:
        time.sleep(0.3)  # --follow waits meanwhile
        attempt = TaskAttempt(
            "flaky", "live", "start", -1, 1, TaskInstanceState.RUNNING,
            start_date=datetime(2024, 6, 1, tzinfo=UTC), log_path=str(path),
        )  # fmt: skip
        # As the scheduler does: the attempt's row is committed before its log is written (a
        # log file without its row would read as an attempt that has ended).
        store.save_attempt(attempt)
        path.parent.mkdir(parents=True)
        path.write_text("first line\n")
        started.set()
        time.sleep(0.3)
        with path.open("a") as file:
            file.write("last line\n")
        attempt.state = TaskInstanceState.SUCCESS
        attempt.end_date = datetime(2024, 6, 1, 0, 1, tzinfo=UTC)
        store.save_attempt(attempt)

    thread = threading.Thread(target=scheduler_starts_then_ends_the_attempt)
    thread.start()
    try:
        result = invoke("tasks", "logs", "flaky", "live", "start", "-F")
    finally:
        thread.join()
    assert started.is_set()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "first line\nlast line\n"
