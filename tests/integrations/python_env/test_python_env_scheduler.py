"""@task.virtualenv under the real scheduler with the local executor: the DAG processor
stores the DAG (its tasks serialized), a worker process builds the environment under the
home it reads from its settings, and the value reaches the next task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock

DAG_FILE = """
@task.virtualenv(requirements=[])
def words(text):
    import sys

    print("in", sys.prefix)
    return text.split()

@task
def count(values):
    return len(values)

with DAG("venv_scheduled", start_date=START, schedule=None) as dag:
    count(words("one two three"))
"""


@pytest.fixture
def harness(
    headwater_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    from stored_dags import invoke

    assert invoke("db", "migrate").exit_code == 0
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    h = Harness(f"sqlite:///{headwater_home / 'headwater.db'}", folder, FakeClock(at(4)))
    yield h
    h.close()


def test_a_virtualenv_task_runs_in_a_worker(harness: Harness, headwater_home: Path) -> None:
    harness.write_dag("venv_scheduled", DAG_FILE)
    harness.process()
    run = harness.trigger("venv_scheduled")
    harness.run_until(harness.finished("venv_scheduled", run.run_id))

    assert harness.states("venv_scheduled", run.run_id) == {"words": "success", "count": "success"}
    assert harness.xcom("venv_scheduled", run.run_id, "words") == ["one", "two", "three"]
    assert harness.xcom("venv_scheduled", run.run_id, "count") == 3
    [env] = [p for p in (headwater_home / "venvs").iterdir() if p.is_dir()]
    [attempt] = harness.attempts("venv_scheduled", run.run_id, "words")
    assert f"in {env}" in Path(attempt.log_path or "").read_text()
