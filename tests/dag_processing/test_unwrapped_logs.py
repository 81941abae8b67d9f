"""Service log lines written to a file or a pipe are plain, one record per line, never
wrapped; on a terminal they keep rich's columns."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from service_cli import invoke

from headwater.store.sql import SqlStore


def test_service_log_lines_are_plain_and_whole(
    sql_store: SqlStore, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / ("f" * 200)  # a long path in the log line
    folder.mkdir()
    (folder / "one.py").write_text(
        textwrap.dedent(
            """
            from headwater import DAG
            from headwater.operators import EmptyOperator
            with DAG("one"):
                EmptyOperator(task_id="a")
            """
        )
    )
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    result = invoke("dag-processor", "--once")
    assert result.exit_code == 0, result.output
    (parsed,) = [line for line in result.stderr.splitlines() if "Parsed" in line]
    assert parsed.startswith("[") and "{INFO} Parsed " in parsed
    assert parsed.endswith(f"Parsed {folder / 'one.py'}: 1 DAG(s), 0 error(s)")
