"""Airflow-style DAG files written for the suite (``dags/``), run unmodified through a real
``headwater dags test`` process with ``[core] airflow_compat`` on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

DAGS = Path(__file__).parent / "dags"

AirflowDagTest = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def airflow_dags_test(tmp_path: Path) -> AirflowDagTest:
    """``airflow_dags_test("file.py", "dag_id", *more_args, env={...})``: ``headwater dags
    test DAG_ID --folder dags/FILE`` with the compatibility layer on, a fresh home, no
    HEADWATER_* setting of the caller's; the completed process (stdout and stderr text)."""

    def run(
        file: str, dag_id: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
        environ |= {
            "HEADWATER_HOME": str(tmp_path / "home"),
            "HEADWATER__CORE__AIRFLOW_COMPAT": "true",
            **(env or {}),
        }
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "headwater",
                "dags",
                "test",
                dag_id,
                "--folder",
                str(DAGS / file),
                *args,
            ],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run
