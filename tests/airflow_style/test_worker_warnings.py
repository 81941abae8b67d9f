"""Airflow 2 names are pointed out by `dags test` (at the file's line), but a worker that loads
the same file for each attempt stays quiet about them: one note per attempt in the scheduler's
output would bury everything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.airflow_style.conftest import DAGS, AirflowDagTest

FILE = "authoring_airflow2_dag.py"  # schedule_interval=, concurrency=: deprecated arguments

LOAD_AS_A_WORKER = """
import sys
from headwater.runtime.remote_attempt import _load_dag
print(_load_dag(sys.argv[1], sys.argv[2]).dag_id)
"""


def test_dags_test_shows_the_deprecations(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test(FILE, "authoring_airflow2_dag")
    assert "AirflowDeprecationWarning" in done.stderr


def test_a_worker_loading_the_file_does_not_repeat_them(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    environ |= {"HEADWATER_HOME": str(tmp_path), "HEADWATER__CORE__AIRFLOW_COMPAT": "true"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AS_A_WORKER, str(DAGS / FILE), "authoring_airflow2_dag"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "authoring_airflow2_dag"
    assert "Deprecation" not in done.stderr
