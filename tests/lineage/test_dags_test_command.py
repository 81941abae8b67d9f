"""``headwater dags test`` emits the run's and its tasks' events when ``[lineage]`` is on."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from lineage_receiver import LineageReceiver

from headwater.cli import cli
from headwater.lineage.emitter import close_emitters

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG, Asset
from headwater.operators import PythonOperator

with DAG("hello", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily"):
    PythonOperator(task_id="greet", python_callable=lambda: "hi",
                   outlets=[Asset("file:///tmp/greeting.txt")])
"""


def test_dags_test_emits_the_run_and_its_tasks(
    receiver: LineageReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hello.py").write_text(DAG_FILE)
    monkeypatch.setenv("HEADWATER__LINEAGE__TRANSPORT", "http")
    monkeypatch.setenv("HEADWATER__LINEAGE__URL", receiver.url)

    args = ["dags", "test", "hello", "--folder", str(tmp_path), "--logical-date", "2024-02-03"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    close_emitters(timeout_s=5)  # what the command's exit does

    assert result.exit_code == 0, result.output
    assert receiver.invalid == []
    assert [(e["job"]["name"], e["eventType"]) for e in receiver.events] == [
        ("hello", "START"),
        ("hello.greet", "START"),
        ("hello.greet", "COMPLETE"),
        ("hello", "COMPLETE"),
    ]
    nominal = receiver.events[0]["run"]["facets"]["nominalTime"]
    assert nominal["nominalStartTime"].startswith("2024-02-0")
    assert receiver.events[2]["outputs"][0]["name"] == "/tmp/greeting.txt"
