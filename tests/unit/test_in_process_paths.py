"""``dags test``, ``tasks test``, ``dag.test()`` and ``headwater.testing.run_dag`` /
``run_task`` share one driver (``engine/driver.py``, for whole runs) and one attempt starter
(``InProcessRun.run_attempt``): no second loop or copy of the attempt's start to drift apart."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from headwater import DAG
from headwater import dag_test as dag_test_module
from headwater.cli import cli
from headwater.operators import EmptyOperator
from headwater.testing import run_dag, run_task

START = datetime(2024, 1, 1, tzinfo=UTC)

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators import EmptyOperator

with DAG("pair", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


class Calls:
    def __init__(self) -> None:
        self.drives = 0
        self.attempts: list[str] = []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen = Calls()
    drive = dag_test_module.drive_run
    run_attempt = dag_test_module.InProcessRun.run_attempt

    def counting_drive(*args: Any, **kwargs: Any) -> Any:
        seen.drives += 1
        return drive(*args, **kwargs)

    def counting_attempt(self: dag_test_module.InProcessRun, key: Any) -> Any:
        seen.attempts.append(key.ti_key.label)
        return run_attempt(self, key)

    monkeypatch.setattr(dag_test_module, "drive_run", counting_drive)
    monkeypatch.setattr(dag_test_module.InProcessRun, "run_attempt", counting_attempt)
    return seen


def _pair() -> DAG:
    with DAG("pair", start_date=START) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    return dag


@pytest.mark.parametrize(
    "run_whole_dag",
    [run_dag, lambda dag: dag.test()],
    ids=["run_dag", "dag.test"],
)
def test_whole_runs_use_the_driver_and_the_attempt_starter(
    calls: Calls, run_whole_dag: Callable[[DAG], Any]
) -> None:
    assert run_whole_dag(_pair()).succeeded
    assert (calls.drives, calls.attempts) == (1, ["a", "b"])


def test_run_task_starts_its_one_attempt_the_same_way(calls: Calls) -> None:
    assert run_task(_pair(), "b").succeeded
    assert (calls.drives, calls.attempts) == (0, ["b"])  # one attempt: nothing to drive


def test_the_commands_use_them_too(calls: Calls, tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "pair.py").write_text(textwrap.dedent(DAG_FILE))
    runner = CliRunner()
    assert runner.invoke(cli, ["dags", "test", "pair", "--folder", str(folder)]).exit_code == 0
    assert (calls.drives, calls.attempts) == (1, ["a", "b"])
    assert (
        runner.invoke(cli, ["tasks", "test", "pair", "a", "--folder", str(folder)]).exit_code == 0
    )
    assert (calls.drives, calls.attempts) == (1, ["a", "b", "a"])
