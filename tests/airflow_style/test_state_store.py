"""Airflow 3.3's ``task_state_store`` and ``asset_state_store`` in an unmodified Airflow-style
DAG file (``dags/state_store.py``) under ``headwater dags test``."""

from __future__ import annotations

from tests.airflow_style.conftest import AirflowDagTest


def test_a_retry_reattaches_to_the_job_its_first_try_stored(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("state_store.py", "state_store")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Try 1: submitted job: job-0001" in out
    assert "Simulated failure after submitting job-0001" in out
    assert "Try 2: reattaching to existing job: job-0001" in out
    assert "Try 2: submitted job" not in out
    assert "stored attempts={'submitted_on_try': 1}" in out
    assert "status=complete missing=7" in out


def test_mapped_async_and_asset_state(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("state_store.py", "state_store")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "async progress={'done': [1, 2], 'rows': 20}" in out
    assert "after delete=gone" in out
    assert "previous watermark=2026-01-01T00:00:00+00:00" in out
    assert "consumer sees watermark=2026-02-01T00:00:00+00:00 runs=1" in out
