"""Output written to a file or a pipe (not a terminal) is never wrapped: each table row and
each log line stays on one line, however long its values, so grep finds whole records. (Service log lines: tests/dag_processing/test_unwrapped_logs.py.)"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from stored_dags import invoke

DAG_ID = "d" * 200
TASK_ID = "t" * 200
LOG_LINE = "L" * 300
DAGS = f"""
from headwater import DAG, task

with DAG("{DAG_ID}", tags=["{"g" * 120}"]):
    @task(task_id="{TASK_ID}")
    def noisy():
        print("{LOG_LINE}")
        raise ValueError("{"E" * 200}")

    noisy()
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    # A long folder name too: the file path is a table cell.
    dags = tmp_path / ("f" * 120)
    dags.mkdir()
    (dags / "wide.py").write_text(textwrap.dedent(DAGS))
    return dags


def line_with(text: str, output: str) -> str:
    (line,) = [line for line in output.splitlines() if text[:50] in line]
    return line


def test_dags_list_keeps_each_row_on_one_line(folder: Path) -> None:
    result = invoke("dags", "list", "--folder", str(folder))
    assert result.exit_code == 0
    row = line_with(DAG_ID, result.stdout)
    assert DAG_ID in row and "g" * 120 in row and str(folder / "wide.py") in row


def test_dags_test_keeps_log_lines_and_summary_rows_whole(folder: Path) -> None:
    result = invoke("dags", "test", DAG_ID, "--folder", str(folder))
    assert result.exit_code == 1
    assert LOG_LINE in line_with(LOG_LINE, result.stdout)
    summary_row = line_with(f"│ {TASK_ID}", result.stdout)
    assert TASK_ID in summary_row and "failed" in summary_row and "ValueError" in summary_row
    assert f"DAG {DAG_ID} failed" in result.stdout


def test_json_output_is_unchanged(folder: Path) -> None:
    result = invoke("dags", "list", "--folder", str(folder), "-o", "json")
    (dag,) = json.loads(result.stdout)["dags"]
    assert dag["dag_id"] == DAG_ID
    assert result.stdout.startswith('{\n  "dags": [\n    {\n      "dag_id": ')


def test_a_terminal_keeps_riches_wrapping_and_log_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from rich.logging import RichHandler

    from headwater.cli._common import console
    from headwater.cli.services import _configure_logging

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes the output for a terminal
    monkeypatch.setenv("COLUMNS", "80")
    assert console().width == 80
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        _configure_logging(quiet=False)
        assert isinstance(root.handlers[0], RichHandler)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
