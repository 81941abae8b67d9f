"""Airflow-style DAG files for the authoring surface (``dags/authoring_*.py``), run unmodified
through ``headwater dags test`` with the compatibility layer on."""

from __future__ import annotations

from tests.airflow_style.conftest import AirflowDagTest


def test_an_airflow_2_dag_runs_with_naive_dates_and_old_arguments(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test(
        "authoring_airflow2_dag.py",
        "authoring_airflow2_dag",
        env={"HEADWATER__CORE__DEFAULT_TIMEZONE": "Europe/Paris"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "start_date=2021-01-01T00:00:00+01:00" in output
    assert "end_date=2031-01-01T00:00:00+01:00" in output
    assert "max_active_tasks=4" in output
    # The deprecations reach whoever runs the file, naming what replaces each argument.
    assert "schedule_interval is deprecated (removed in Airflow 3); use schedule" in output
    assert "concurrency is deprecated (removed in Airflow 3); use max_active_tasks" in output


def test_naive_dates_are_utc_by_default(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("authoring_airflow2_dag.py", "authoring_airflow2_dag")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "start_date=2021-01-01T00:00:00+00:00" in done.stdout + done.stderr


def test_a_bad_default_timezone_is_a_settings_error(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test(
        "authoring_pendulum.py",
        "authoring_pendulum",
        env={"HEADWATER__CORE__DEFAULT_TIMEZONE": "Nowhere/City"},
    )
    assert done.returncode != 0
    assert "core.default_timezone" in done.stderr and "'Nowhere/City'" in done.stderr


def test_display_names_task_params_xcom_options_and_macros(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("authoring_surface.py", "authoring_surface")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "HEADWATER! region=eu days=3" in output  # macro, filter, DAG and task params
    assert "post_execute saw {'files': 2, 'folder': 'dags'}" in output
    assert "files=2 quiet_pushed=None" in output
    conf = airflow_dags_test(
        "authoring_surface.py", "authoring_surface", "--conf", '{"days": 9, "region": "us"}'
    )
    assert "HEADWATER! region=us days=9" in conf.stdout + conf.stderr


def test_pendulum_datetimes_and_durations(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("authoring_pendulum.py", "authoring_pendulum")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "dagrun_timeout=3600" in output
    assert "retry_delay=60" in output
    assert "execution_timeout=600" in output


def test_sla_miss_callback_is_kept(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("authoring_sla.py", "authoring_sla")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "sla_miss_callback kept: True" in output
    assert "task sla: 0:00:10" in output
