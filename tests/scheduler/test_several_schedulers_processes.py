"""Several ``headwater scheduler`` processes on one database, as real processes with real
workers: on PostgreSQL two share a run set (each drives the runs it claimed) and, when one
is killed with SIGKILL, the other takes its runs over once their leases expire and finishes
them; on SQLite a second one is refused. Each task appends to a ledger when its code starts
and ends, so the tests see that no task instance ran two attempts at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, wait_for
from service_processes import ProcessTree, ended_within

from headwater.clock import SystemClock
from headwater.engine.records import DagRun

pytestmark = pytest.mark.slow

RUNS = 4
TASKS = 30
"""Sharing: four runs of 30 tasks, 120 task instances."""
KILL_RUNS = 5
KILL_TASKS = 100
"""A scheduler killed: five runs of 100 tasks, 500 task instances."""

LEDGER_DAG = """
import os, time

LEDGER = {ledger!r}

def note(what, run_id, task_id):
    with open(LEDGER, "a") as ledger:
        ledger.write(f"{{what}} {{run_id}} {{task_id}} {{time.time():.6f}} {{os.getpid()}}\\n")

def work(task_id, ti=None):
    note("start", ti.run_id, task_id)
    time.sleep({sleep_s})
    note("end", ti.run_id, task_id)

with DAG("shared", start_date=START, max_active_runs={runs}, max_active_tasks=64):
    for i in range({tasks}):
        PythonOperator(task_id=f"t_{{i}}", python_callable=work, op_args=[f"t_{{i}}"])
"""

SETTINGS = {"PARALLELISM": "8", "TASK_HEARTBEAT_TIMEOUT_S": "5"}
SHARING_LEASE_S = "10"
"""Sharing: long enough that a pass slowed by a loaded machine never looks like a death."""
KILL_LEASE_S = "6"
"""Taking over: the survivor claims the killed one's runs this long after it died."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "dags"
    path.mkdir()
    return path


@pytest.fixture
def tree(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str, folder: Path
) -> Iterator[ProcessTree]:
    """The test's processes; ``@pytest.mark.parametrize("tree", [LEASE], indirect=True)``
    sets ``scheduler.run_claim_lease_s``."""
    lease = getattr(request, "param", SHARING_LEASE_S)
    made = ProcessTree(tmp_path, db_url, folder, **SETTINGS, run_claim_lease_s=lease)
    yield made
    made.kill_all()


@pytest.fixture
def harness(db_url: str, folder: Path) -> Iterator[Harness]:
    h = Harness(db_url, folder, SystemClock())  # type: ignore[arg-type]
    yield h
    h.store.close()


def _write_dag(
    harness: Harness, ledger: Path, sleep_s: float, runs: int = RUNS, tasks: int = TASKS
) -> None:
    body = LEDGER_DAG.format(ledger=str(ledger), runs=runs, tasks=tasks, sleep_s=sleep_s)
    (harness.folder / "shared.py").write_text(HEADER + textwrap.dedent(body))
    harness.process()


def _start_two(tree: ProcessTree, harness: Harness) -> list[subprocess.Popen[bytes]]:
    schedulers = [tree.start("scheduler", "--no-dag-processor") for _ in range(2)]

    def both_alive() -> bool:
        jobs = harness.store.list_jobs(kind="scheduler")
        return len([job for job in jobs if job.ended_at is None]) == 2

    wait_for(both_alive, "two live schedulers", 60)
    return schedulers


def _trigger(harness: Harness, runs: int = RUNS) -> list[DagRun]:
    return [harness.trigger("shared") for _ in range(runs)]


def _ended(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    return sum(1 for line in ledger.read_text().splitlines() if line.startswith("end "))


def _owner_pid(harness: Harness, run: DagRun) -> int | None:
    claim = harness.store.get_run_claim(run.dag_id, run.run_id)
    return None if claim is None else int(claim.claimed_by.rpartition(":")[2])


def _assert_ledger_once_each_never_overlapping(
    ledger: Path, runs: list[DagRun], tasks: int = TASKS
) -> None:
    """Every task instance started and ended, its attempts one after the other (a start
    always follows the end of the one before): never two at once."""
    events: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for line in ledger.read_text().splitlines():
        what, run_id, task_id, moment, _pid = line.split()
        events[(run_id, task_id)].append((float(moment), what))
    expected = {(run.run_id, f"t_{i}") for run in runs for i in range(tasks)}
    assert set(events) == expected
    for key, seen in events.items():
        order = [what for _, what in sorted(seen)]
        assert order == ["start", "end"] * (len(order) // 2) and order, (key, order)


def _assert_all_succeeded(harness: Harness, runs: list[DagRun]) -> None:
    for run in runs:
        assert harness.run_state("shared", run.run_id) == "success"
        assert set(harness.states("shared", run.run_id).values()) == {"success"}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_schedulers_share_the_runs_and_never_overlap_attempts(
    tmp_path: Path, harness: Harness, tree: ProcessTree
) -> None:
    ledger = tmp_path / "ledger"
    _write_dag(harness, ledger, sleep_s=0.02)
    schedulers = _start_two(tree, harness)

    # `jobs check` sees both (Airflow's semantics: several pass with --allow-multiple).
    arguments = ["--job-type", "scheduler", "--limit", "0", "--allow-multiple", "-o", "json"]
    check = subprocess.run(
        [sys.executable, "-m", "headwater", "jobs", "check", *arguments],
        env=tree.env,
        capture_output=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    answer = json.loads(check.stdout)
    assert sorted(job["pid"] for job in answer["alive"]) == sorted(p.pid for p in schedulers)

    runs = _trigger(harness)
    for run in runs:
        wait_for(harness.finished("shared", run.run_id), f"run {run.run_id}", 90)
    _assert_all_succeeded(harness, runs)
    # Both took part: each drove runs it claimed (claims stay until a scheduler stops).
    owners = {_owner_pid(harness, run) for run in runs}
    assert owners == {p.pid for p in schedulers}, owners
    for scheduler in schedulers:
        assert "Claimed run" in tree.output(scheduler)
    _assert_ledger_once_each_never_overlapping(ledger, runs)

    for scheduler in schedulers:
        scheduler.terminate()
    for scheduler in schedulers:
        assert ended_within(scheduler, 30), tree.output(scheduler)
        assert scheduler.returncode == 0, tree.output(scheduler)
    # Stopping, each released its claims.
    assert all(_owner_pid(harness, run) is None for run in runs)


@pytest.mark.parametrize("tree", [KILL_LEASE_S], indirect=True)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_killing_one_of_two_schedulers_lets_the_other_finish_its_runs(
    tmp_path: Path, harness: Harness, tree: ProcessTree
) -> None:
    ledger = tmp_path / "ledger"
    _write_dag(harness, ledger, sleep_s=0.01, runs=KILL_RUNS, tasks=KILL_TASKS)
    schedulers = _start_two(tree, harness)
    runs = _trigger(harness, KILL_RUNS)

    def both_drive_runs() -> bool:
        owners = {_owner_pid(harness, run) for run in runs}
        return owners == {p.pid for p in schedulers} and _ended(ledger) >= 10

    wait_for(both_drive_runs, "both schedulers driving runs", 60)
    victim, survivor = schedulers
    victims_runs = [run for run in runs if _owner_pid(harness, run) == victim.pid]
    victim.kill()  # SIGKILL: no stop, no release; its workers finish what they run
    victim.wait(timeout=30)

    for run in runs:
        wait_for(harness.finished("shared", run.run_id), f"run {run.run_id}", 90)
    _assert_all_succeeded(harness, runs)
    unfinished = [r for r in victims_runs if f"Claimed run {r.run_id}" in tree.output(survivor)]
    assert unfinished, "the survivor took none of the killed scheduler's runs"
    for run in unfinished:
        assert _owner_pid(harness, run) == survivor.pid
    _assert_ledger_once_each_never_overlapping(ledger, runs, KILL_TASKS)
    survivor.terminate()
    assert ended_within(survivor, 30) and survivor.returncode == 0, tree.output(survivor)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_second_scheduler_on_sqlite_is_refused(
    tmp_path: Path, harness: Harness, tree: ProcessTree
) -> None:
    ledger = tmp_path / "ledger"
    _write_dag(harness, ledger, sleep_s=0)
    first = tree.start("scheduler", "--no-dag-processor")
    wait_for(lambda: bool(harness.store.list_jobs(kind="scheduler")), "the first scheduler", 60)
    second = tree.start("scheduler", "--no-dag-processor")
    assert ended_within(second, 60)
    assert second.returncode == 1
    output = tree.output(second)
    assert "another scheduler is running on this database" in output
    assert f"pid {first.pid}" in output
    assert first.poll() is None
