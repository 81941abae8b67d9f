"""Review fixes that belong to no single area: the license file, @task.bash's rendered command."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from headwater import DAG, task
from headwater.operators import BashOperator
from headwater.testing import run_dag

REPO = Path(__file__).resolve().parents[2]
DAY = datetime(2024, 1, 31, tzinfo=UTC)


def test_the_license_file_is_the_apache_license_that_pyproject_declares() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]
    text = (REPO / "LICENSE").read_text()
    assert declared == "Apache-2.0"
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_task_bash_keeps_its_rendered_command_like_bash_operator() -> None:
    with DAG("rendered_commands") as dag:

        @task.bash
        def shell(name: str) -> str:
            return "echo {{ ds }} " + name

        shell("ada")
        BashOperator(task_id="classic", bash_command="echo {{ ds }} ada")

    result = run_dag(dag, logical_date=DAY)
    assert result.rendered("classic")["bash_command"] == "echo 2024-01-31 ada"
    assert result.rendered("shell")["bash_command"] == "echo 2024-01-31 ada"
