"""`headwater dags test` of a DAG that triggers another: its own run stays in memory, the
triggered run goes to the metadata database of the settings (as Airflow's `dags test`), where
the scheduler will run it; without that database the task fails saying what to do."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from tests.command_processes import run_headwater

FILES = {
    "target.py": """
        from datetime import UTC, datetime
        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("target", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
            EmptyOperator(task_id="work")
    """,
    "controller.py": """
        from datetime import UTC, datetime
        from headwater import DAG
        from headwater.operators import TriggerDagRunOperator

        with DAG("controller", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
            TriggerDagRunOperator(task_id="kick", trigger_dag_id="target", conf={"n": 1})
    """,
}


def _env(home: Path, dags: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    return environ | {"HEADWATER_HOME": str(home), "HEADWATER_DAGS_FOLDER": str(dags)}


def _dags(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, text in FILES.items():
        (dags / name).write_text(textwrap.dedent(text))
    return dags


def test_the_triggered_run_is_queued_in_the_settings_database(tmp_path: Path) -> None:
    env = _env(tmp_path / "home", _dags(tmp_path))
    assert run_headwater(env, "db", "migrate").returncode == 0
    assert run_headwater(env, "dag-processor", "--once", "--quiet").returncode == 0

    done = run_headwater(env, "dags", "test", "controller", "-q")
    assert done.returncode == 0, done.stdout + done.stderr

    runs = run_headwater(env, "dags", "list-runs", "target", "--output", "json")
    listed = json.loads(runs.stdout)
    assert [(r["state"], r["run_type"]) for r in listed] == [("queued", "manual")]
    # The controller's own run is not stored: dags test keeps it in memory.
    mine = run_headwater(env, "dags", "list-runs", "controller", "--output", "json")
    assert json.loads(mine.stdout) == []


def test_without_a_database_the_task_fails_saying_what_to_do(tmp_path: Path) -> None:
    env = _env(tmp_path / "home", _dags(tmp_path))

    done = run_headwater(env, "dags", "test", "controller", "-q")
    assert done.returncode == 1
    assert "this run reaches other DAGs' runs in the settings' metadata database" in done.stdout
    assert "run `headwater db migrate` and the DAG processor" in done.stdout
