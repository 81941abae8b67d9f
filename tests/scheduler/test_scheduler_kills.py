"""Exactly-once completion under fire: the scheduler is killed with SIGKILL at random moments
during a run of a few hundred short tasks, each of which appends to a ledger when its code
starts and when it finishes. Afterwards every task ran exactly once (no attempt whose code
finished ran again, none ran twice at once), every XCom survived for its downstream task,
and the run succeeded. Real scheduler processes and workers, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, wait_for

from headwater.clock import SystemClock

pytestmark = pytest.mark.slow

CHAINS = 80
"""Chains of three tasks (``a_i >> b_i >> c_i``): 240 tasks."""
KILLS = 4

LEDGER_DAG = """
import os, time

LEDGER = {ledger!r}

def note(what, task_id):
    with open(LEDGER, "a") as ledger:
        ledger.write(f"{{what}} {{task_id}} {{os.getpid()}}\\n")

def work(task_id, upstream, ti=None):
    note("start", task_id)
    if upstream is not None:  # the upstream's XCom was stored with its outcome
        got = ti.xcom_pull(task_ids=upstream)
        if got != upstream:
            raise ValueError(f"{{task_id}}: XCom of {{upstream}} is {{got!r}}")
    time.sleep(0.02 + (hash(task_id) % 8) / 100)
    note("end", task_id)
    return task_id

with DAG("ledger", start_date=START, max_active_tasks=64):
    for i in range({chains}):
        upstream = None
        for step in "abc":
            task_id = f"{{step}}_{{i}}"
            current = PythonOperator(
                task_id=task_id,
                python_callable=work,
                op_args=[task_id, upstream and upstream.task_id],
            )
            if upstream is not None:
                upstream >> current
            upstream = current
"""


def _ledger(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()[:2]) for line in path.read_text().splitlines()]  # type: ignore[misc]


def test_killing_the_scheduler_at_random_never_runs_finished_work_again(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = int(os.environ.get("HEADWATER_KILL_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    print(f"kill seed: {seed} (HEADWATER_KILL_SEED={seed} repeats this test's kills)")
    folder = tmp_path / "dags"
    folder.mkdir()
    ledger = tmp_path / "ledger"
    (folder / "ledger.py").write_text(HEADER + LEDGER_DAG.format(ledger=str(ledger), chains=CHAINS))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")},
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_DAGS_FOLDER": str(folder),
        "HEADWATER_DATABASE_URL": db_url,
        "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        "HEADWATER__SCHEDULER__PARALLELISM": "8",
        "HEADWATER__SCHEDULER__KILL_GRACE_S": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    harness = Harness(db_url, folder, SystemClock())  # type: ignore[arg-type]
    schedulers: list[subprocess.Popen[bytes]] = []
    errors = tmp_path / "scheduler.err"

    def start() -> subprocess.Popen[bytes]:
        with errors.open("ab") as err:
            child = subprocess.Popen(
                [sys.executable, "-m", "headwater", "scheduler", "--quiet", "--no-dag-processor"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        schedulers.append(child)
        return child

    def ended() -> int:
        return sum(1 for what, _ in _ledger(ledger) if what == "end")

    try:
        harness.process()
        run = harness.trigger("ledger")
        scheduler = start()
        for _ in range(KILLS):
            target = ended() + rng.randint(10, 50)
            wait_for(lambda target=target: ended() >= target, f"{target} tasks to end")
            scheduler.send_signal(signal.SIGKILL)
            scheduler.wait(timeout=60)
            if rng.random() < 0.5:
                # No scheduler for a moment: running attempts end and record their outcome.
                time.sleep(rng.uniform(0.05, 0.5))
            scheduler = start()
        wait_for(harness.finished("ledger", run.run_id), "the run to finish", timeout_s=240)
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=60) == 0, errors.read_text()

        entries = _ledger(ledger)
        starts = Counter(task for what, task in entries if what == "start")
        ends = Counter(task for what, task in entries if what == "end")
        every = {f"{step}_{i}" for i in range(CHAINS) for step in "abc"}
        assert set(ends) == every and set(starts) == every
        twice = {task: n for task, n in (starts + ends).items() if n != 2}
        assert not twice, f"ran more than once (seed {seed}): {twice}"
        states = harness.states("ledger", run.run_id)
        assert set(states.values()) == {"success"}, states
        assert harness.run_state("ledger", run.run_id) == "success"
    finally:
        for child in schedulers:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=60)
        harness.close()
