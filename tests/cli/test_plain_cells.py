"""What the CLI shows of stored values is the values themselves: never read as rich markup,
and control characters (a terminal escape sequence) escaped, never sent to the terminal."""

from __future__ import annotations

from pathlib import Path

from headwater.store.sql import SqlStore
from stored_dags import invoke


def test_variable_values_are_shown_as_they_are(store: SqlStore) -> None:
    assert invoke("variables", "set", "markup", "[red]hi[/red] [/]").exit_code == 0
    assert invoke("variables", "set", "escape", "a\x1b[2Jb").exit_code == 0
    result = invoke("variables", "list")
    assert result.exit_code == 0, result.output
    assert "[red]hi[/red] [/]" in result.stdout
    assert "a\\x1b[2Jb" in result.stdout
    assert "\x1b" not in result.stdout


def test_a_failed_tasks_error_is_shown_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(
        "from headwater import DAG, task\n"
        "with DAG('boom'):\n"
        "    @task\n"
        "    def t():\n"
        "        raise ValueError('[/bold] closes nothing \\x1b[31m')\n"
        "    t()\n"
    )
    result = invoke("dags", "test", "boom", "--folder", str(tmp_path))
    assert result.exit_code == 1
    assert "ValueError: [/bold] closes nothing \\x1b[31m" in result.stdout
    assert "\x1b" not in result.stdout


def test_an_import_error_is_shown_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "from headwater import DAG\nraise ValueError('[/] [red]no[/red]')\n"
    )
    result = invoke("dags", "list", "--folder", str(tmp_path))
    assert "ValueError: [/] [red]no[/red]" in result.stdout
