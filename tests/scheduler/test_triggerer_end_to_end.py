"""Deferral end to end with real processes: tasks defer to triggers, the triggerer fires
them, the scheduler resumes the tasks in workers.

* ``headwater scheduler`` runs a triggerer in a thread: a task that deferred frees its
  worker, and resumes in ``execute_complete`` with the trigger's payload once its flag
  file appears.
* 1,000 tasks deferred at once under a scheduler with two worker slots: a deferred task
  holds none; all resume, each once.
* The issue's "done when": with ``headwater scheduler --no-triggerer`` and ``headwater
  triggerer`` as two processes, both killed with SIGKILL while triggers wait (some flags
  raised just before, some while both are down): once they run again, every task resumes,
  each trigger fired once and each task's ``execute_complete`` ran once.

The triggers are ``flag_triggers.FlagTrigger`` (copied into the DAG folder, on
``sys.path`` for the DAG processor, the workers and the triggerer).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduler_harness import HEADER
from service_processes import ProcessTree

from command_processes import wait_for as wait_for_condition
from headwater.operations import trigger_run
from headwater.store.sql import SqlStore
from headwater.store.triggers import WAITING

pytestmark = pytest.mark.slow

TRIGGERS_MODULE = Path(__file__).parents[1] / "triggerer" / "flag_triggers.py"
FIRED_LINE = re.compile(r"Trigger (\d+) \(flag_triggers\.FlagTrigger\) of \S+ in \S+ fired$")

DAG = """
from flag_triggers import FlagTrigger

from headwater.authoring.operator import BaseOperator

FLAGS = {flags!r}


class WaitForFlag(BaseOperator):
    def execute(self, context):
        self.defer(trigger=FlagTrigger(f"{{FLAGS}}/{{self.task_id}}", {poll}), kwargs={{"n": 1}})

    def execute_complete(self, context, event, n):
        with open(f"{{FLAGS}}/resumed.log", "a") as log:
            log.write(f"{{self.task_id}} try {{context['ti'].try_number}}\\n")
        return event["text"]


with DAG("waits", schedule=None, start_date=START):
    for i in range({count}):
        WaitForFlag(task_id=f"wait_{{i}}")
"""


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "db" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def trees() -> Iterator[list[ProcessTree]]:
    made: list[ProcessTree] = []
    yield made
    for tree in made:
        tree.kill_all()


def wait_for(tree: ProcessTree, condition: Callable[[], object], what: str) -> None:
    """Wait (120 s at most: the machine may be busy); on failure, say what each process of
    ``tree`` logged."""
    try:
        wait_for_condition(condition, what, timeout_s=120)
    except AssertionError as exc:
        logs = "\n".join(tree.output(process)[-3000:] for process in tree.started)
        raise AssertionError(f"{exc}; the processes logged:\n{logs}") from None


def setup_dag(tmp_path: Path, count: int, poll: float = 0.02) -> tuple[Path, Path]:
    """The DAG folder (the DAG ``waits`` of ``count`` deferring tasks, whose triggers look
    for their flag every ``poll`` seconds) and the flags folder."""
    folder, flags = tmp_path / "dags", tmp_path / "flags"
    folder.mkdir()
    flags.mkdir()
    shutil.copy(TRIGGERS_MODULE, folder)
    (folder / "waits.py").write_text(HEADER + DAG.format(flags=str(flags), count=count, poll=poll))
    return folder, flags


def start_run(tree: ProcessTree, store: SqlStore) -> str:
    wait_for(tree, lambda: store.get_dag("waits") is not None, "the DAG processor to store the DAG")
    return trigger_run(store, "waits", now=datetime.now(UTC)).run_id


def states(store: SqlStore, run_id: str) -> Counter[str]:
    return Counter(ti.state.value for ti in store.get_task_instances("waits", run_id))


def raise_flags(flags: Path, numbers: range) -> None:
    """The flags of tasks ``wait_<i>``, each written whole then renamed into place."""
    for i in numbers:
        draft = flags / f"wait_{i}.draft"
        draft.write_text(f"text {i}")
        os.replace(draft, flags / f"wait_{i}")


def resumed(flags: Path) -> Counter[str]:
    path = flags / "resumed.log"
    return Counter(path.read_text().splitlines()) if path.exists() else Counter()


def test_a_deferred_task_resumes_when_the_scheduler_s_triggerer_fires(
    tmp_path: Path, sqlite_url: str, trees: list[ProcessTree]
) -> None:
    folder, flags = setup_dag(tmp_path, 3)
    tree = ProcessTree(tmp_path, sqlite_url, folder, parallelism="2")
    trees.append(tree)
    store = SqlStore.from_url(sqlite_url)
    scheduler = tree.start("scheduler")
    run_id = start_run(tree, store)
    wait_for(tree, lambda: states(store, run_id) == {"deferred": 3}, "the three tasks to defer")
    wait_for(
        tree,
        lambda: {t.triggerer_id is not None for t in store.list_triggers()} == {True},
        "claims",
    )
    assert [j.ended_at for j in store.list_jobs(kind="triggerer")] == [None]
    raise_flags(flags, range(3))
    wait_for(tree, lambda: store.get_dag_run("waits", run_id).state.value == "success", "the run")  # type: ignore[union-attr]
    # Each resumed once, in try 2 (the deferral's try was 1; not counted as a retry).
    assert resumed(flags) == Counter({f"wait_{i} try 2": 1 for i in range(3)})
    assert store.list_triggers() == []  # the scheduler deleted them as it resumed the tasks
    scheduler.send_signal(signal.SIGTERM)
    assert scheduler.wait(timeout=30) == 0, tree.output(scheduler)
    [job] = store.list_jobs(kind="triggerer")
    assert job.ended_at is not None  # the triggerer stopped with the scheduler
    store.close()


def test_a_thousand_deferred_tasks_wait_at_once_and_hold_no_worker_slot(
    tmp_path: Path, sqlite_url: str, trees: list[ProcessTree]
) -> None:
    """1,000 tasks deferred at once under a scheduler that runs two attempts at a time: they
    can all wait only because a deferred task holds no worker slot (the triggerer's memory
    with 1,000 triggers is measured in tests/triggerer/test_triggerer_processes.py). Then they
    all resume, each once."""
    count = 1000
    folder, flags = setup_dag(tmp_path, count, poll=1.0)
    tree = ProcessTree(tmp_path, sqlite_url, folder, parallelism="2")
    trees.append(tree)
    store = SqlStore.from_url(sqlite_url)
    tree.start("scheduler")
    run_id = start_run(tree, store)
    wait_for(tree, lambda: states(store, run_id) == {"deferred": count}, "every task to defer")
    assert store.count_waiting_triggers() == count
    raise_flags(flags, range(count))
    wait_for(tree, lambda: states(store, run_id) == {"success": count}, "every task to resume")
    assert resumed(flags) == Counter({f"wait_{i} try 2": 1 for i in range(count)})
    store.close()


def test_killing_the_scheduler_and_the_triggerer_loses_no_trigger_and_fires_none_twice(
    tmp_path: Path, sqlite_url: str, trees: list[ProcessTree]
) -> None:
    count = 20
    folder, flags = setup_dag(tmp_path, count)
    tree = ProcessTree(tmp_path, sqlite_url, folder, parallelism="4")
    tree.env["HEADWATER__TRIGGERER__LEASE_S"] = "2"
    tree.env["HEADWATER__TRIGGERER__POLL_INTERVAL_S"] = "0.1"
    trees.append(tree)
    store = SqlStore.from_url(sqlite_url)
    first = [tree.start("scheduler", "--no-triggerer"), tree.start("triggerer")]
    run_id = start_run(tree, store)
    wait_for(tree, lambda: states(store, run_id) == {"deferred": count}, "every task to defer")
    wait_for(
        tree,
        lambda: {t.triggerer_id is not None for t in store.list_triggers([WAITING])} == {True},
        "the triggerer to claim every trigger",
    )
    raise_flags(flags, range(5))
    wait_for(tree, lambda: store.count_waiting_triggers() < count, "a first trigger to fire")
    for process in first:  # while triggers wait, some fired, some tasks resuming
        process.kill()
        process.wait()
    raise_flags(flags, range(5, 10))  # while neither runs
    tree.start("scheduler", "--no-triggerer")
    tree.start("triggerer")
    raise_flags(flags, range(10, count))
    wait_for(
        tree,
        lambda: store.get_dag_run("waits", run_id).state.value == "success",  # type: ignore[union-attr]
        "the run to succeed",
    )
    # None lost, none twice: each task resumed once, each trigger fired once.
    assert states(store, run_id) == {"success": count}
    assert sorted(line.split()[0] for line in resumed(flags)) == sorted(
        f"wait_{i}" for i in range(count)
    )
    fired = Counter(
        int(match.group(1))
        for process in tree.started
        if "triggerer" in process.args
        for line in tree.output(process).splitlines()
        if (match := FIRED_LINE.search(line))
    )
    assert len(fired) == count and set(fired.values()) == {1}, fired
    store.close()
