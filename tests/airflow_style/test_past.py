"""``depends_on_past`` and ``wait_for_downstream`` in an Airflow-style file (``dags/
past_tutorial.py``, Airflow's tutorial shape): the arguments load unmodified, from
default_args and per task, and ``dags test`` (no earlier runs: the first run) runs every
task to success, as in Airflow."""

from __future__ import annotations

from tests.airflow_style.conftest import AirflowDagTest


def test_the_tutorial_with_depends_on_past_runs_unmodified(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("past_tutorial.py", "past_tutorial", "-d", "2024-03-05")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for task_id in ("print_date", "accumulate", "publish", "cleanup"):
        assert f"success {task_id} (try" in out, out
    assert (
        "flags of accumulate: depends_on_past=True wait_for_downstream=False "
        "ignore_first_depends_on_past=True"
    ) in out
    # wait_for_downstream implies depends_on_past, as in Airflow.
    assert (
        "flags of publish: depends_on_past=True wait_for_downstream=True "
        "ignore_first_depends_on_past=True"
    ) in out
    assert "cleaned 2024-03-05" in out
    assert "waiting for the previous run" not in out
