"""``dags test`` and ``tasks test`` of a DAG that is not found print the import errors that
may explain it, instead of sending people to a second command."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stored_dags import invoke

BROKEN_ETL = """
from headwater import DAG
from headwater.operators import EmptyOperator

def helper():
    raise ValueError("the config is missing")

with DAG("etl"):
    EmptyOperator(task_id="a")
    helper()
"""
UNRELATED = "from headwater import DAG\nimport nope_module\n"
GOOD = """
from headwater import DAG
from headwater.operators import EmptyOperator
with DAG("good"):
    EmptyOperator(task_id="a")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in (("etl.py", BROKEN_ETL), ("other.py", UNRELATED), ("good.py", GOOD)):
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


@pytest.mark.parametrize("command", [["dags", "test", "etl"], ["tasks", "test", "etl", "a"]])
def test_the_import_error_of_the_missing_dags_file_is_printed(
    folder: Path, command: list[str]
) -> None:
    result = invoke(*command, "--folder", str(folder))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"Error: no DAG 'etl' in {folder} (found: good); it may be in a file that failed to import:"
    )
    assert lines[1] == f"{folder / 'etl.py'}:6: ValueError: the config is missing"
    assert '    raise ValueError("the config is missing")' in lines
    assert lines[-1] == "1 other file(s) failed to import too (see `headwater dags list`)"
    assert "nope_module" not in result.stderr
    assert "dagbag.py" not in result.stderr


def test_every_failed_file_is_listed_when_none_mentions_the_dag(folder: Path) -> None:
    result = invoke("dags", "test", "nowhere", "--folder", str(folder))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: no DAG 'nowhere' in {folder} (found: good); 2 file(s) failed to import:",
        f"{folder / 'etl.py'}:6: ValueError: the config is missing",
        f"{folder / 'other.py'}:2: ModuleNotFoundError: No module named 'nope_module'",
    ]
