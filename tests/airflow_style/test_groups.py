"""Mapped task groups in an Airflow-style DAG file (``dags/groups_mapped.py``), run unmodified
through ``headwater dags test`` and ``headwater tasks test``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.airflow_style.conftest import DAGS, AirflowDagTest


def _row(stdout: str, label: str) -> str:
    """The state column of ``label`` in the end-of-run table."""
    match = re.search(rf"│ {re.escape(label)}\s+│ \S+ (\w+)", stdout)
    assert match, f"no row for {label!r} in:\n{stdout}"
    return match.group(1)


def test_mapped_groups_run_per_index_and_reduce(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("groups_mapped.py", "groups_mapped")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for index in range(3):
        assert _row(out, f"per_file.extract[{index}]") == "success"
    # Only the instance of the element that failed fails; the others run on.
    assert _row(out, "per_file.check[0]") == "success"
    assert _row(out, "per_file.check[1]") == "failed"
    assert _row(out, "per_file.check[2]") == "success"
    assert "ValueError: refusing b.csv" in out
    # Downstream of the group: one list of every index's value (all_done).
    assert "loaded rows: [11, 31]" in out
    # partial(factor=3).expand(value=[1, 2]), with a classic operator in the group.
    assert _row(out, "multiply.echo[1]") == "success"
    assert "index=1" in out
    assert "total is 9" in out


def test_one_index_of_a_group_task_runs_alone(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    environ |= {"HEADWATER_HOME": str(tmp_path), "HEADWATER__CORE__AIRFLOW_COMPAT": "true"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater",
            "tasks",
            "test",
            "groups_mapped",
            "multiply.scale",
            "--map-index",
            "1",
            "--folder",
            str(DAGS / "groups_mapped.py"),
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Returned value was: 6" in done.stdout
    assert _row(done.stdout, "multiply.scale[1]") == "success"
