"""Asset events with real processes: an event created by ``headwater assets create-event``
while no scheduler runs triggers its DAG once when ``headwater scheduler`` starts; after a
``kill -9`` of that scheduler, the next one creates no second run for it, and an event
created while it runs triggers one more run."""

from __future__ import annotations

import shutil
import signal
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from scheduler_harness import HEADER, Harness, wait_for
from service_processes import ProcessTree, ended_within

from headwater.clock import SystemClock

pytestmark = pytest.mark.slow

SALES = "s3://bucket/sales.parquet"


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "db" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
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


def _scheduler_passes(harness: Harness, count: int) -> None:
    seen: list[datetime] = []

    def moved() -> bool:
        jobs = harness.store.list_jobs(kind="scheduler")
        if jobs and jobs[-1].ended_at is None and jobs[-1].heartbeat_at not in seen:
            seen.append(jobs[-1].heartbeat_at)
        return len(seen) > count

    wait_for(moved, f"{count} scheduler heartbeats", 60)


def test_an_event_while_the_scheduler_is_down_triggers_its_dag_once(
    tmp_path: Path, sqlite_url: str, folder: Path, harness: Harness
) -> None:
    ran = tmp_path / "ran.txt"
    (folder / "consumer.py").write_text(
        HEADER
        + textwrap.dedent(
            f"""
            from headwater import Asset

            def note(run_id):
                with open({str(ran)!r}, "a") as out:
                    out.write(run_id + "\\n")

            with DAG("consumer", start_date=START, schedule=[Asset({SALES!r})]):
                PythonOperator(
                    task_id="note", python_callable=note, op_kwargs={{"run_id": "{{{{ run_id }}}}"}}
                )
            """
        )
    )
    harness.process()
    tree = ProcessTree(tmp_path, sqlite_url, folder)
    try:
        created = tree.start("assets", "create-event", SALES, "--extra", '{"rows": 1}')
        assert ended_within(created, 60) and created.returncode == 0, tree.output(created)

        def asset_runs() -> list[str]:
            return [r.run_id for r in harness.runs("consumer") if r.run_type == "asset_triggered"]

        first = tree.start("scheduler", "--quiet")
        wait_for(lambda: len(asset_runs()) == 1, "the asset-triggered run", 60)
        (run_id,) = asset_runs()
        wait_for(harness.finished("consumer", run_id), "the run to finish", 60)
        first.send_signal(signal.SIGKILL)
        assert ended_within(first, 10)
        tree.kill_all()  # what the killed scheduler left (its DAG processor)

        second = tree.start("scheduler", "--quiet")
        _scheduler_passes(harness, 3)
        assert asset_runs() == [run_id]
        assert ran.read_text().splitlines() == [run_id]
        (event,) = harness.store.triggering_asset_events("consumer", run_id)
        assert (event.extra, event.created_by is not None) == ({"rows": 1}, True)

        # An event while this scheduler runs triggers exactly one more run.
        harness.store.create_asset_event(SALES, timestamp=SystemClock().now())
        wait_for(lambda: len(asset_runs()) == 2, "a second asset-triggered run", 60)
        newest = max(asset_runs())
        wait_for(harness.finished("consumer", newest), "the second run to finish", 60)
        assert sorted(ran.read_text().splitlines()) == sorted(asset_runs())
        second.send_signal(signal.SIGTERM)
        assert ended_within(second, 30)
    finally:
        tree.kill_all()
