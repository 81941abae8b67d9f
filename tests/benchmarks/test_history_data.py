"""benchmarks/history_data.py, the history behind benchmarks/api_latency.py, at a tiny size: the
rows it writes are the ones asked for, and the store reads them back as it reads its own."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from headwater.services.context import open_context
from headwater.services.runs import get_run
from headwater.settings import load_settings

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
NOW = datetime(2026, 12, 5, 6, 7, 8, tzinfo=UTC)


@pytest.fixture
def history_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import history_data

    yield history_data
    sys.modules.pop("history_data", None)


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("dags", "dag_runs", "task_instances", "task_attempts", "import_errors")
        }


@pytest.mark.parametrize(("dags", "rows"), [(2, 200), (7, 1234), (200, 10_000), (3, 60)])
def test_the_plan_holds_exactly_the_rows_asked_for(
    history_data: ModuleType, dags: int, rows: int
) -> None:
    import random

    plans = history_data.plan_runs(dags, rows, random.Random(1))
    assert sum(run.rows for runs in plans for run in runs) == rows
    busiest = plans[0]
    assert busiest[-1].kind == "running"
    assert len(busiest) == max(len(runs) for runs in plans)


def test_generates_the_dags_and_the_rows_and_reuses_them(
    history_data: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "history"
    history, reused = history_data.ensure_history(dags=2, rows=200, folder=folder, now=NOW)
    assert not reused

    found = counts(history.database_path)
    assert found == {
        "dags": 2,
        "dag_runs": history.runs,
        "task_instances": 200,
        "task_attempts": history.attempts,
        "import_errors": 1,  # the generated broken file
    }
    assert history.task_instances == 200
    assert history.attempts > 100
    assert history.busiest_dag == "pipeline_0000"
    assert history.newest_run == "scheduled__2026-12-05T05:45:00+00:00"

    # The store reads the bulk-written rows back: the DAG as the processor stored it, the run
    # with its instances (the mapped task expanded or its placeholder), their states.
    monkeypatch.setenv("HEADWATER_DATABASE_URL", history.database_url)
    with open_context(load_settings()) as ctx:
        dag = ctx.store.get_dag(history.busiest_dag)
        assert dag is not None
        assert dag.is_active and not dag.is_paused
        assert dag.schedule == "*/15 * * * *"
        assert "generated" in dag.tags
        assert len(dag.serialized["dag"]["tasks"]) == 20
        run = get_run(ctx, history.busiest_dag, history.newest_run)
        assert run.state == "running"
        states = {ti.state for ti in run.task_instances}
        assert "success" in states and "running" in states
        task_ids = {ti.task_id for ti in run.task_instances}
        assert task_ids == set(history_data.TASK_IDS)
        assert len(run.task_instances) >= 20

    # Asked again with the same parameters: the folder is reused as it is.
    again, reused = history_data.ensure_history(dags=2, rows=200, folder=folder)
    assert reused
    assert again == history
    assert counts(again.database_path) == found


def test_refuses_fewer_rows_than_one_run(history_data: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1 DAG and 20 rows"):
        history_data.generate(tmp_path / "h", dags=1, rows=19)
