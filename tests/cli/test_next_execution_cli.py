"""``headwater dags next-execution``: the next runs of a stored DAG, from its timetable."""

from __future__ import annotations

import json
from pathlib import Path

from headwater.store.sql import SqlStore
from stored_dags import invoke, scan_here, write_dags

WEEKDAYS = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators import EmptyOperator
from headwater.timetables import CronTriggerTimetable

with DAG("weekdays", schedule=CronTriggerTimetable("0 6 * * 1-5", timezone="UTC"),
         start_date=datetime(2024, 1, 5, tzinfo=UTC), catchup=True):
    EmptyOperator(task_id="a")
"""


def test_next_execution_lists_the_timetable_runs(store: SqlStore, folder: Path) -> None:
    write_dags(folder, WEEKDAYS, name="weekdays.py")
    assert not scan_here(store, folder).errors
    result = invoke("dags", "next-execution", "weekdays", "-n", "3", "-o", "json")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert (planned["schedule"], planned["paused"]) == ("0 6 * * 1-5", False)
    # 2024-01-05 is a Friday: then Monday and Tuesday.
    assert [
        (r["logical_date"], r["data_interval_end"], r["run_after"]) for r in planned["runs"]
    ] == [(f"2024-01-{day:02d}T06:00:00+00:00",) * 3 for day in (5, 8, 9)]
    text = invoke("dags", "next-execution", "weekdays").stdout
    assert "Next runs of weekdays (0 6 * * 1-5: " in text
    assert "2024-01-05T06:00:00+00:00" in text and "2024-01-08" not in text


def test_next_execution_of_an_unscheduled_and_of_an_unknown_dag(store: SqlStore) -> None:
    result = invoke("dags", "next-execution", "partly")
    assert result.exit_code == 0
    assert "DAG partly has no scheduled runs to come (schedule None)." in result.stdout
    missing = invoke("dags", "next-execution", "nope")
    assert missing.exit_code == 1
    assert "no DAG 'nope' in the database" in missing.output
