"""What the fault tests share: a DAG of tasks that write a ledger, the database faults, and
the checks on the ledger and the attempts.

* :data:`LEDGER_DAG`: ``count`` independent tasks; each appends ``start TASK PID`` when its
  code starts and ``end TASK PID`` when it ends, and takes 50-200 ms.
* :class:`DatabaseFaults`: terminates every backend of ONE test database (never another's),
  or refuses new connections to it for a while, through an admin connection to another
  database.
* :class:`Observer`: reads the test database with a connection per call, so a read that
  meets a fault fails alone (``None``) instead of leaving a broken pooled connection.
* :func:`make_faults_as_tasks_end`: the faults of the database drop tests, each when so many
  tasks ended (three drops of every connection, one outage).
* :func:`waiting`: ``wait_for`` failing with the end of the processes' logs;
  :func:`wait_until_finished`: until the run finished, through an :class:`Observer`.
* :func:`assert_each_task_ran_once`: the run succeeded, every task's code ran exactly once
  (the ledger), no instance had two attempts at once (the attempts' rows).

Processes (the scheduler, its local workers or ``headwater celery worker`` processes) are
the test's own business: the harness only needs the database URL, the ledger path and a way
to read the logs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from command_processes import wait_for
from headwater.db.engine import create_db_engine
from headwater.engine.records import TaskAttempt
from headwater.store.sql import SqlStore

T = TypeVar("T")

LEDGER_DAG = """\
import os, time
from datetime import UTC, datetime

from headwater import DAG
from headwater.operators import PythonOperator

LEDGER = {ledger!r}

def note(what, task_id):
    with open(LEDGER, "a") as ledger:
        ledger.write(f"{{what}} {{task_id}} {{os.getpid()}}\\n")

def work(task_id, index):
    note("start", task_id)
    time.sleep(0.05 + (index * 37 % 16) / 100)  # 50 to 200 ms
    note("end", task_id)

with DAG({dag_id!r}, start_date=datetime(2024, 1, 1, tzinfo=UTC), max_active_tasks=64):
    for i in range({count}):
        PythonOperator(task_id=f"t_{{i}}", python_callable=work, op_args=[f"t_{{i}}", i])
"""


def write_ledger_dag(folder: Path, dag_id: str, ledger: Path, count: int) -> None:
    (folder / f"{dag_id}.py").write_text(
        LEDGER_DAG.format(dag_id=dag_id, ledger=str(ledger), count=count)
    )


def ledger_entries(path: Path) -> list[tuple[str, str, int]]:
    """``(what, task_id, pid)`` per line, in order; a line being written is left out."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            entries.append((parts[0], parts[1], int(parts[2])))
    return entries


def ended(path: Path) -> int:
    return sum(1 for what, _, _ in ledger_entries(path) if what == "end")


def overlapping_attempts(attempts: list[TaskAttempt]) -> list[tuple[int, int]]:
    """Pairs of try numbers of one task instance whose attempts ran at the same time."""
    pairs = []
    ordered = sorted(attempts, key=lambda a: a.start_date)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if first.end_date is None or second.start_date < first.end_date:
                pairs.append((first.try_number, second.try_number))
    return pairs


class DatabaseFaults:
    """Faults on database ``url`` (a test database), made through ``admin_url`` (another
    database of the same server, as a superuser)."""

    def __init__(self, url: str, admin_url: str) -> None:
        self.database = make_url(url).database
        assert self.database and self.database.startswith("headwater_test_"), self.database
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.terminated: list[int] = []
        """How many backends each :meth:`terminate` ended."""

    def terminate(self) -> int:
        """End every backend of the test database (only of that one); how many there were."""
        with self._admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": self.database},
            ).scalar_one()
        self.terminated.append(int(ended))
        return int(ended)

    def _allow_connections(self, allow: bool) -> None:
        with self._admin.connect() as conn:
            value = "true" if allow else "false"
            conn.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS {value}'))

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """New connections to the database are refused inside the block (its backends are
        ended as it starts); accepted again after it, whatever happened."""
        self._allow_connections(False)
        try:
            self.terminate()
            yield
        finally:
            self._allow_connections(True)

    def refuse_for(self, seconds: float) -> None:
        """Terminate every backend and refuse new connections for ``seconds`` (the fault's
        length: this sleep is the outage, not a wait for something to happen)."""
        with self.refusing():
            time.sleep(seconds)

    def close(self) -> None:
        self._allow_connections(True)
        self._admin.dispose()


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` now (a scheduler's workers, a Celery worker's
    pool processes)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.add(int(entry.name))
    return found


class Observer:
    """The test's own reads of the test database, a fresh connection each time."""

    def __init__(self, url: str) -> None:
        self.store = SqlStore(create_db_engine(url, poolclass=NullPool))

    def read(self, what: Callable[[SqlStore], T]) -> T | None:
        """``what(store)``, or None when the database refused or dropped the connection."""
        try:
            return what(self.store)
        except DBAPIError:
            return None

    def close(self) -> None:
        self.store.close()
        self.store.engine.dispose()


FAULTS_AFTER = ((15, "drop"), (35, "drop"), (55, "refuse"), (75, "drop"))
"""(tasks ended, fault): every backend ended, or also new connections refused for a while
(for a run of 100 tasks)."""

Wait = Callable[..., None]
"""``wait(condition, what, timeout_s=60.0)``: a ``wait_for`` (see :func:`waiting`)."""


def waiting(logs: Callable[[], str]) -> Wait:
    """``wait_for``, failing with the end of ``logs()`` (the processes' logs)."""

    def wait(condition: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
        try:
            wait_for(condition, what, timeout_s)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the logs end:\n{logs()[-6000:]}") from None

    return wait


def make_faults_as_tasks_end(
    faults: DatabaseFaults,
    ledger: Path,
    wait: Wait,
    refused_s: float,
    schedule: Sequence[tuple[int, str]] = FAULTS_AFTER,
) -> None:
    """Make ``schedule``'s faults (:data:`FAULTS_AFTER`'s by default) as the ledger's tasks
    end. Each drop must have ended at least one backend."""
    for after, fault in schedule:
        wait(lambda after=after: ended(ledger) >= after, f"{after} tasks to end")
        if fault == "refuse":
            faults.refuse_for(refused_s)
        else:
            faults.terminate()
    assert all(n > 0 for n in faults.terminated), faults.terminated


def wait_until_finished(
    observer: Observer, url: str, dag_id: str, run_id: str, wait: Wait, timeout_s: float = 60
) -> None:
    """Until the run succeeded or failed; a timeout names the instances not yet successful."""

    def finished() -> bool:
        got = observer.read(lambda store: store.get_dag_run(dag_id, run_id))
        return got is not None and got.state.value in ("success", "failed")

    try:
        wait(finished, "the run to finish", timeout_s=timeout_s)
    except AssertionError as exc:
        with SqlStore.from_url(url) as store:
            left = {
                ti.task_id: (ti.state.value, ti.try_number)
                for ti in store.get_task_instances(dag_id, run_id)
                if ti.state.value != "success"
            }
        raise AssertionError(f"not finished: {left}\n{exc}") from None


def assert_each_task_ran_once(url: str, dag_id: str, run_id: str, ledger: Path, tasks: int) -> None:
    """The run and its instances succeeded, none had two attempts at once, and the code of
    each task ``t_0``... started and ended exactly once."""
    with SqlStore.from_url(url) as store:
        run = store.get_dag_run(dag_id, run_id)
        assert run is not None and run.state.value == "success", run
        states = {ti.task_id: ti.state.value for ti in store.get_task_instances(dag_id, run_id)}
        assert set(states.values()) == {"success"}, states
        overlapping = {
            task_id: pairs
            for task_id in states
            if (pairs := overlapping_attempts(store.get_attempts(dag_id, run_id, task_id)))
        }
        assert not overlapping, overlapping
    counts = Counter((what, task) for what, task, _ in ledger_entries(ledger))
    wrong = {key: n for key, n in counts.items() if n != 1}
    assert not wrong, f"ran more than once: {wrong}"
    every = {f"t_{i}" for i in range(tasks)}
    assert {task for what, task in counts if what == "end"} == every
    assert {task for what, task in counts if what == "start"} == every
