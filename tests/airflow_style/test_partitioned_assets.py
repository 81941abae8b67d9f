"""Airflow 3.3's partitioned assets in an Airflow-style file (``dags/partitioned_assets.py``),
run unmodified through ``dags test``: the run's key and partition date as its tasks see
them, keys named at run time, and a rollup consumer's key read back to its day."""

from __future__ import annotations

from tests.airflow_style.conftest import AirflowDagTest
from tests.airflow_style.test_misc import _task_log

FILE = "partitioned_assets.py"


def test_a_cron_partition_runs_key_and_date_reach_its_tasks(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test(FILE, "partitioned_hourly", "--partition", "2024-03-13T10:00:00")
    assert done.returncode == 0, done.stdout + done.stderr
    log = _task_log(done.stdout, "success", "ingest")
    # The key is Paris time; its date the UTC instant it stands for.
    assert "key=2024-03-13T10:00:00 date=2024-03-13 09:00:00+00:00" in log
    assert "context key=2024-03-13T10:00:00 date=2024-03-13 09:00:00+00:00" in log


def test_keys_named_at_run_time_and_a_rollup_consumers_day(
    airflow_dags_test: AirflowDagTest,
) -> None:
    named = airflow_dags_test(FILE, "partitioned_regions")
    assert named.returncode == 0, named.stdout + named.stderr
    assert "named ['eu|2026-06-14T03:00:00', 'us|2026-06-14T03:00:00']" in named.stdout
    daily = airflow_dags_test(FILE, "partitioned_daily", "--partition", "2024-03-13")
    assert daily.returncode == 0, daily.stdout + daily.stderr
    log = _task_log(daily.stdout, "success", "summarise")
    assert "day=2024-03-13 from=2024-03-13T00:00:00+01:00" in log
