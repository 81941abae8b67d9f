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


def airflow_headwater(
    home: Path, *args: str, compat: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` in a process of its own, in ``home``, with the compatibility layer
    on (unless ``compat`` is False), ``env`` and no HEADWATER_* setting of the caller's; the
    completed process (stdout and stderr text)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    environ |= {"HEADWATER_HOME": str(home), **env}
    if compat:
        environ["HEADWATER__CORE__AIRFLOW_COMPAT"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def airflow_dags_test(tmp_path: Path) -> AirflowDagTest:
    """``airflow_dags_test("file.py", "dag_id", *more_args, env={...})``: ``headwater dags
    test DAG_ID --folder dags/FILE`` with the compatibility layer on, a fresh home, no
    HEADWATER_* setting of the caller's; the completed process (stdout and stderr text)."""

    def run(
        file: str, dag_id: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        folder = str(DAGS / file)
        return airflow_headwater(
            tmp_path / "home", "dags", "test", dag_id, "--folder", folder, *args, **(env or {})
        )

    return run
