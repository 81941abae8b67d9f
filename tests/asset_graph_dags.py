"""DAG files for the assets graph's tests (services, API, pages, browser): ``features``
produces ``s3://lake/features.parquet``; ``training`` is scheduled on it; ``report`` reads it
(an inlet) and is tagged ``team-b``; ``audit`` is scheduled on the asset alias ``files``."""

from __future__ import annotations

from pathlib import Path

from headwater.store.sql import SqlStore
from stored_dags import scan_here, write_dags

FEATURES = "s3://lake/features.parquet"

ASSET_DAGS = """
from datetime import UTC, datetime
from headwater import DAG, Asset, AssetAlias
from headwater.operators import EmptyOperator

START = datetime(2024, 1, 1, tzinfo=UTC)
FEATURES = Asset("s3://lake/features.parquet", name="features")

with DAG("features", start_date=START, schedule="@daily", tags=["team-a"]):
    EmptyOperator(task_id="build", outlets=[FEATURES])

with DAG("training", start_date=START, schedule=[FEATURES], tags=["team-a"]):
    EmptyOperator(task_id="train")

with DAG("report", start_date=START, schedule=None, tags=["team-b"]):
    EmptyOperator(task_id="read", inlets=[FEATURES])

with DAG("audit", start_date=START, schedule=AssetAlias("files"), tags=["team-a"]):
    EmptyOperator(task_id="check")
"""


def store_asset_dags(store: SqlStore, folder: Path) -> None:
    """Add the DAGs above to ``folder`` (beside what it holds) and store them."""
    write_dags(folder, ASSET_DAGS, name="asset_dags.py")
    report = scan_here(store, folder)
    assert not report.errors, report
