"""The object-store XCom backend under the real scheduler with the local executor (worker
processes, which read the settings themselves), on SQLite and PostgreSQL: a DataFrame passes
between tasks, the database holds only the reference (read with plain SQL), clearing a task
deletes its files (its new run writes a new one), and deleting a run or its DAG deletes
the files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from scheduler_harness import Harness, at
from sqlalchemy import create_engine, text
from xcom_store_files import files_under, the_file

from headwater.clock import FakeClock
from headwater.services import dags as dag_services
from headwater.services import runs as run_services
from headwater.services import task_instances as ti_services
from headwater.services.context import open_context
from headwater.settings import load_settings

DAG_FILE = """
@task
def produce(ti=None):
    import pandas as pd

    return pd.DataFrame({"n": list(range(1000)), "try": [ti.try_number] * 1000})

@task
def consume(frame):
    return {"rows": len(frame), "total": int(frame["n"].sum()), "try": int(frame["try"][0])}

with DAG("frames", start_date=START, schedule=None) as dag:
    consume(produce())
"""


@pytest.fixture
def harness(
    db_url: str, objects_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    h = Harness(db_url, folder, FakeClock(at(4)))
    yield h
    h.close()


def _stored(db_url: str, run_id: str, task_id: str) -> str:
    """The ``xcoms`` row's value, read with plain SQL."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                text(
                    "SELECT value FROM xcoms WHERE dag_id = 'frames' AND run_id = :run "
                    "AND task_id = :task AND key = 'return_value'"
                ),
                {"run": run_id, "task": task_id},
            ).scalar_one()
    finally:
        engine.dispose()
    return value if isinstance(value, str) else json.dumps(value)


def _finish(harness: Harness, run_id: str) -> None:
    harness.run_until(harness.finished("frames", run_id))
    assert harness.states("frames", run_id) == {"produce": "success", "consume": "success"}


def test_a_dataframe_goes_through_the_scheduler_as_a_file(
    harness: Harness, db_url: str, objects_root: Path
) -> None:
    harness.write_dag("frames", DAG_FILE)
    harness.process()
    first = harness.trigger("frames")
    _finish(harness, first.run_id)

    assert harness.xcom("frames", first.run_id, "consume") == {
        "rows": 1000,
        "total": 499500,
        "try": 1,
    }
    reference = json.loads(_stored(db_url, first.run_id, "produce"))
    folder = objects_root / "frames" / first.run_id / "produce"
    path = the_file(folder)
    assert reference["uri"] == str(path)
    assert (reference["format"], reference["size"]) == ("parquet", path.stat().st_size)
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["n", "try"]
    assert frame["n"].tolist() == list(range(1000))

    # Cleared and run again: the old file goes with the cleared reference; the new value
    # is a new file.
    with open_context(load_settings()) as ctx:
        request = ti_services.ClearRequest(task_ids=["produce"], downstream=True)
        ti_services.clear_task_instances(ctx, "frames", first.run_id, request)
    assert not path.exists()
    _finish(harness, first.run_id)
    assert harness.xcom("frames", first.run_id, "consume")["try"] == 2
    new_path = the_file(folder)
    assert json.loads(_stored(db_url, first.run_id, "produce"))["uri"] == str(new_path) != str(path)
    assert pd.read_parquet(new_path)["try"].tolist() == [2] * 1000

    # Deleting a run deletes its files only; deleting the DAG deletes the rest.
    harness.clock.advance(timedelta(minutes=1))
    second = harness.trigger("frames")
    _finish(harness, second.run_id)
    assert len(files_under(objects_root)) == 2
    with open_context(load_settings()) as ctx:
        run_services.delete_run(ctx, "frames", first.run_id)
    assert files_under(objects_root) == [
        f"frames/{second.run_id}/produce/return_value.<token>.parquet"
    ]
    with open_context(load_settings()) as ctx:
        dag_services.delete_dag(ctx, "frames")
    assert files_under(objects_root) == []
    assert not (objects_root / "frames").exists()
