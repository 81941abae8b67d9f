"""The summary of ``dags test``: an error too long for its table cell follows the table in
full, so a failed check's message (every failed check, the value seen) is never cut, even
with ``-q``."""

from __future__ import annotations

from pathlib import Path

from stored_dags import invoke

LONG_FAILURE = """
from headwater import DAG, task

with DAG("checks"):
    @task
    def check_orders():
        raise ValueError("SQL column checks failed: " + "x" * 80 + " amount min: got -3.5")

    check_orders()
"""


def test_a_long_error_is_shown_whole_after_the_table(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(LONG_FAILURE)
    result = invoke("dags", "test", "checks", "--folder", str(tmp_path), "-q")
    assert result.exit_code == 1
    assert "check_orders: ValueError: SQL column checks failed:" in result.output
    assert "amount min: got -3.5" in result.output
