"""Small gaps Airflow's example files hit, each in an Airflow-style file run unmodified:
``render_template`` and ``templates_exts`` inside tasks, sensors whose ``timeout`` is shorter
than their ``poke_interval``, and Airflow's ``serializer`` on Python-environment tasks."""

from __future__ import annotations

import re

from tests.airflow_style.conftest import AirflowDagTest


def _task_log(stdout: str, state: str, task_id: str) -> str:
    """The log lines ``dags test`` printed under ``task_id``, which ended in ``state``."""
    match = re.search(rf"{state} {re.escape(task_id)} \(try[^\n]*\n((?:    │[^\n]*\n)*)", stdout)
    assert match, f"no log of {task_id!r} ({state}) in:\n{stdout}"
    return match.group(1)


def test_render_template_and_template_files_inside_tasks(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("misc_templates.py", "misc_templates")
    assert done.returncode == 0, done.stdout + done.stderr
    show = _task_log(done.stdout, "success", "show")
    run_id = re.search(r"run_label: run (manual__\S+)", show)
    assert run_id, show
    # The .sql argument was read from misc_sql/ next to the file and rendered, with the
    # task's params over the DAG's.
    assert f"where run_id = '{run_id.group(1)}'" in show
    assert "and source = 'from_task'" in show
    assert "rendered: other=other_from_dag source=from_task" in show
    assert "nested run id matches: True" in show
    assert "from file has run id: True" in show
    assert re.search(r"classic: \d{4}-\d\d-\d\d other_from_dag", done.stdout)


def test_sensors_give_up_at_a_timeout_shorter_than_their_poke_interval(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("misc_sensors.py", "misc_sensors")
    assert done.returncode == 0, done.stdout + done.stderr
    for task_id in (
        "poke_gives_up_at_timeout",
        "reschedule_gives_up_at_timeout",
        "bash_gives_up_at_timeout",
    ):
        log = _task_log(done.stdout, "skipped", task_id)
        assert re.search(rf"sensor '{task_id}' timed out after 1(\.\d+)? s \(timeout 1 s\)", log)
    assert "poking again in 600" not in done.stdout  # the wait was cut to the time left
    assert "all sensors done" in _task_log(done.stdout, "success", "after")


def test_a_serializer_is_accepted_and_values_travel_as_json(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("misc_virtualenv.py", "misc_virtualenv")
    assert done.returncode == 0, done.stdout + done.stderr
    extract = _task_log(done.stdout, "success", "extract")
    assert "serializer='dill': headwater passes the arguments and the result as JSON" in extract
    assert "Total order value is: 734.48" in _task_log(done.stdout, "success", "load")
    classic = _task_log(done.stdout, "success", "classic")
    assert "serializer='cloudpickle'" in classic
    assert "Returned value was: {'doubled': 42}" in classic
