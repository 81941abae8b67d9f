"""The Airflow-style files `headwater airflow check` is tested with run unmodified through
`headwater dags test` too: one to success, one failing in its second task."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

AirflowDagTest = Callable[..., subprocess.CompletedProcess[str]]


def test_check_loads_runs_to_success(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("check_loads.py", "check_loads")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "rows extracted: 42" in done.stdout


def test_check_run_fails_fails_in_validate(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("check_run_fails.py", "check_run_fails")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "no rows in staging.orders for the day" in done.stdout
