"""DAG files stored in a test database by the real DAG processor, and real runs of them.

For the tests of :mod:`headwater.operations` and of the commands that use the database:
``store_dags(store, folder)`` writes ``DAGS`` to ``folder`` and scans it with
:func:`scan_here` (the DAG processor, importing in this process); ``run_now(...)`` runs a DAG
of that folder to its end on the same store (real attempts, XComs and log files), as the
scheduler's workers would.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from headwater.cli import cli
from headwater.clock import FakeClock
from headwater.dag_processing.parse_file import parse
from headwater.dag_processing.processor import (
    DagFolderProcessor,
    ParseResult,
    ScanReport,
    parse_result,
)
from headwater.dag_test import DagRunResult, run_dag_in_process
from headwater.loading.dagbag import DagBag
from headwater.settings import Settings
from headwater.store.ports import Store
from headwater.store.sql import SqlStore

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)

DAGS = """
from datetime import UTC, datetime, timedelta
from headwater import DAG, Param, task
from headwater.operators import BashOperator

START = datetime(2024, 1, 1, tzinfo=UTC)

# extract -> double (mapped over extract's output) -> load -> report
with DAG("etl", start_date=START, schedule="@daily", max_active_runs=3,
         params={"region": Param("eu", enum=["eu", "us"])}) as etl:
    @task
    def extract() -> list[int]:
        return [1, 2, 3]

    @task(retries=2)
    def double(x: int) -> int:
        print(f"doubling {x}")
        return 2 * x

    @task
    def load(values: list[int]) -> int:
        return sum(values)

    @task
    def report(total: int) -> str:
        return f"total={total}"

    report(load(double.expand(x=extract())))

# start -> boom (fails twice: retries=1) -> after (upstream_failed); the run fails
with DAG("flaky", start_date=START, schedule="@daily") as flaky:
    start = BashOperator(task_id="start", bash_command="echo starting")
    boom = BashOperator(task_id="boom", bash_command="echo going down; exit 3", retries=1,
                        retry_delay=timedelta(seconds=5))
    after = BashOperator(task_id="after", bash_command="echo after")
    start >> boom >> after

# numbers -> half (mapped; fails for 2) -> total (upstream_failed)
with DAG("partly", start_date=START, schedule=None) as partly:
    @task
    def numbers() -> list[int]:
        return [1, 2, 3]

    @task
    def half(x: int) -> float:
        if x == 2:
            raise ValueError("no halves of two")
        return x / 2

    @task
    def total(values: list[float]) -> float:
        return sum(values)

    total(half.expand(x=numbers()))
"""


class _ProcessorHere(DagFolderProcessor):
    """The DAG processor, importing each file in this process instead of a child process of
    its own: the same parse (``parse_file.parse``, its result through JSON as the child's is)
    and the same storing, without starting an interpreter per file (a fifth of a second, in
    the set-up of hundreds of tests). The child processes themselves, their time limit and
    their crashes, are tested in ``tests/dag_processing``."""

    def _parse_all(self, paths: list[str], on_result: Callable[[ParseResult], None]) -> None:
        for path in paths:
            on_result(parse_result(path, json.loads(json.dumps(parse(Path(path))))))


def scan_here(store: Store, folder: Path, **options: Any) -> ScanReport:
    """Store the DAGs of ``folder`` as ``DagFolderProcessor(store, folder, **options).scan()``
    does, importing the files in this process (for tests' set-ups)."""
    return _ProcessorHere(store, folder, **options).scan()


def write_dags(folder: Path, text: str = DAGS, name: str = "dags.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def store_dags(store: SqlStore, folder: Path, text: str = DAGS) -> Path:
    """Write ``text`` as a DAG file in ``folder`` and let the DAG processor store it."""
    path = write_dags(folder, text)
    report = scan_here(store, folder)
    assert not report.errors, report
    return path


def run_now(
    store: SqlStore,
    folder: Path,
    dag_id: str,
    run_id: str,
    settings: Settings,
    *,
    logical_date: datetime = JAN_1,
) -> DagRunResult:
    """Run ``dag_id`` of ``folder`` to its end on ``store`` (retry delays pass at once)."""
    dag = DagBag(folder).get_dag(dag_id)
    clock = FakeClock(datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    return run_dag_in_process(
        dag,
        store=store,
        run_id=run_id,
        logical_date=logical_date,
        settings=settings,
        clock=clock,
    )


def invoke(*args: str, input: str | None = None) -> Result:
    """Run ``headwater ARGS...`` in this process; ``result.stdout`` / ``.stderr`` apart."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
