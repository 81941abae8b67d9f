"""Partitions from the command line: ``dags backfill --partitions`` (dry run and real),
``dags trigger --partition``, the partition in ``dags list-runs``, and
``assets create-event --partition-key``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.store.sql import SqlStore
from stored_dags import invoke, store_dags

DAGS = """
from datetime import UTC, datetime
from headwater import DAG, Asset, StaticPartitions, TimePartitions
from headwater.operators import BashOperator

START = datetime(2024, 1, 1, tzinfo=UTC)
REGIONS = StaticPartitions(["eu", "us", "apac"])

with DAG("daily_sales", start_date=START, schedule="@daily",
         partitions=TimePartitions("daily", start=START)):
    BashOperator(task_id="load", bash_command="echo {{ partition_key }}")

with DAG("regional", start_date=START, schedule=[Asset("s3://b/orders", partitions=REGIONS)],
         partitions=REGIONS):
    BashOperator(task_id="load", bash_command="echo {{ partition_key }}")
"""


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    with SqlStore.from_url(db_url) as store:
        store_dags(store, tmp_path / "dags", DAGS)
        yield store


def test_backfill_over_a_range_of_partitions_dry_run_then_for_real(store: SqlStore) -> None:
    args = ["dags", "backfill", "daily_sales", "--partitions", "2024-01-01..2024-01-03"]
    result = invoke(*args, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.stdout
    rows = [
        [cell for cell in line.split() if cell != "│"]
        for line in result.stdout.splitlines()
        if "backfill__" in line
    ]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("2024-01-01", "create", "backfill__2024-01-01__2024-01-01T00:00:00+00:00"),
        ("2024-01-02", "create", "backfill__2024-01-02__2024-01-02T00:00:00+00:00"),
        ("2024-01-03", "create", "backfill__2024-01-03__2024-01-03T00:00:00+00:00"),
    ]
    data = json.loads(invoke(*args, "--dry-run", "-o", "json").stdout)
    assert data["partitions"] == "2024-01-01..2024-01-03"
    assert [i["partition_key"] for i in data["items"]] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert store.list_dag_runs("daily_sales") == []
    result = invoke(*args)
    assert "3 run(s) created, 0 rerun, 0 skipped" in result.stdout, result.output
    assert invoke(*args).stdout == "Nothing to backfill: all 3 partition(s) skipped.\n"
    listed = json.loads(invoke("dags", "list-runs", "daily_sales", "-o", "json").stdout)
    assert [r["partition_key"] for r in listed] == ["2024-01-03", "2024-01-02", "2024-01-01"]
    table = invoke("dags", "list-runs", "daily_sales").stdout
    assert "partition" in table and "2024-01-02" in table


def test_backfill_over_static_keys_and_bad_input(store: SqlStore) -> None:
    result = invoke("dags", "backfill", "regional", "--partitions", "eu,us", "-o", "json")
    data = json.loads(result.stdout)
    assert [i["partition_key"] for i in data["items"]] == ["eu", "us"]
    assert len(data["created"]) == 2
    result = invoke("dags", "backfill", "regional", "--partitions", "eu,mars")
    assert result.exit_code == 1
    assert "DAG 'regional': partition key 'mars' is not one of the static [eu, us, apac]" in (
        result.stderr
    )
    result = invoke("dags", "backfill", "regional", "--partitions", "eu", "--start", "2024-01-01")
    assert result.exit_code == 2 and "give --partitions or --start/--end, not both" in result.stderr


def test_trigger_a_partition_and_record_a_partitioned_event(store: SqlStore) -> None:
    result = invoke("dags", "trigger", "daily_sales", "--partition", "2024-01-31", "-o", "json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert (run["partition_key"], run["logical_date"], run["data_interval_end"]) == (
        "2024-01-31",
        "2024-01-31T00:00:00+00:00",
        "2024-02-01T00:00:00+00:00",
    )
    assert run["run_id"] == "manual__2024-01-31__2024-01-31T00:00:00+00:00"
    result = invoke("dags", "trigger", "daily_sales", "--partition", "2024-1-31")
    assert result.exit_code == 1
    assert "DAG 'daily_sales': partition key '2024-1-31' is not a daily key" in result.stderr
    result = invoke("assets", "create-event", "s3://b/orders", "--partition-key", "eu")
    assert result.stdout.startswith("Created event") and "(partition eu)" in result.stdout
    [queued] = store.queued_asset_events("regional")
    assert queued.partition_key == "eu"
    result = invoke("assets", "create-event", "s3://b/orders", "--partition-key", "  ")
    assert result.exit_code == 1 and "a partition key must not be blank" in result.stderr


def test_dags_test_runs_one_partition_and_refuses_a_bad_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "sales.py").write_text(DAGS)
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "home"))
    ran = invoke("dags", "test", "daily_sales", "--partition", "2024-01-02", "-f", str(folder))
    assert ran.exit_code == 0, ran.output
    assert "2024-01-02" in ran.stdout  # {{ partition_key }} echoed by the task
    bad = invoke("dags", "test", "daily_sales", "--partition", "2024-13-40", "-f", str(folder))
    assert bad.exit_code != 0
    assert "daily_sales" in bad.output and "2024-13-40" in bad.output
    static = invoke("dags", "test", "regional", "--partition", "mars", "-f", str(folder))
    assert static.exit_code != 0 and "mars" in static.output
