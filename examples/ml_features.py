"""Features for an ML model, one day at a time: wait for the day's readings, compute features,
and publish them as a day's partition of an asset that the training DAG (``ml_training.py``)
is scheduled on.

An ice-cream kiosk drops a CSV of hourly readings (``hour,temperature_c,visitors,
ice_creams_sold``) into ``output/ml/incoming/`` next to this file, named after the day it
covers: ``kiosk_2024-06-01.csv``. The DAG is partitioned by day: each run works on one day,
its ``partition_key`` (``2024-06-01``). Once a day the pipeline::

    wait_for_readings       ->  compute_features
    (FileSensor, reschedule      (the open hours' rows, with sales per visitor, written to
     mode: no worker held         output/ml/features/features_<ds>.csv; a successful try
     between its looks)           records an event of the asset kiosk_features)

It shows:

* a ``FileSensor`` in ``mode="reschedule"``: between two looks for the file the task is
  ``up_for_reschedule`` and holds no worker slot, however long the file takes to come;
* a partitioned asset outlet: ``outlets=[FEATURES]`` records one event of
  ``file://.../features`` per successful run, for the run's partition (its day), with
  ``extra`` metadata (the day, the file, its row count) that the training DAG reads from its
  ``triggering_asset_events``.

Try it in one process (``dags test`` runs the sensor's pokes at once on a fake clock, so drop
the file first)::

    mkdir -p examples/output/ml/incoming
    cp examples/data/ml/kiosk_readings.csv examples/output/ml/incoming/kiosk_2024-06-01.csv
    headwater dags test ml_features --folder examples --logical-date 2024-06-01

Under the scheduler, with the training DAG: docs/data-aware.md, "Worked example".
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater import DAG, Asset, TaskFailedNoRetry, TimePartitions, task
from headwater.sensors import FileSensor

HERE = Path(__file__).resolve().parent  # the DAGs folder, wherever the command runs from
DATA = HERE / "output" / "ml"  # incoming/ (input files), features/, models/
POKE_INTERVAL_S = 30  # how often the sensor looks for the file

# One partition per day, keyed "2024-06-01": a run of this DAG works on one day.
DAYS = TimePartitions("daily", start=datetime(2024, 1, 1, tzinfo=UTC))

# The asset, cut into the same days. Its URI names the data (headwater never opens it): the
# training DAG is scheduled on the same URI.
FEATURES = Asset(
    "file://examples/output/ml/features", name="kiosk_features", group="ml", partitions=DAYS
)

COLUMNS = ["hour", "temperature_c", "visitors", "ice_creams_sold"]


def read_readings(path: Path) -> list[dict[str, Any]]:
    """The rows of a readings file, typed; a bad header or value fails naming the file and
    line (no retry: the file must be fixed)."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise TaskFailedNoRetry(
                f"{path}: the header must be {','.join(COLUMNS)}, got {reader.fieldnames}"
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(
                    {
                        "hour": int(row["hour"]),
                        "temperature_c": float(row["temperature_c"]),
                        "visitors": int(row["visitors"]),
                        "ice_creams_sold": int(row["ice_creams_sold"]),
                    }
                )
            except (TypeError, ValueError) as exc:
                raise TaskFailedNoRetry(f"{path}, line {line}: {exc}") from None
    return rows


def features_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One feature row per open hour (a closed hour, without visitors, says nothing about
    demand): the temperature, the visitors, the sales and the sales per visitor."""
    return [
        {
            "hour": row["hour"],
            "temperature_c": row["temperature_c"],
            "visitors": row["visitors"],
            "ice_creams_sold": row["ice_creams_sold"],
            "sales_per_visitor": round(row["ice_creams_sold"] / row["visitors"], 4),
        }
        for row in rows
        if row["visitors"] > 0
    ]


with DAG(
    dag_id="ml_features",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    partitions=DAYS,  # each run carries the key of its day: {{ partition_key }}
    tags=["example", "ml", "assets"],
    doc_md=__doc__,
):
    wait_for_readings = FileSensor(
        task_id="wait_for_readings",
        filepath=str(DATA / "incoming" / "kiosk_{{ partition_key }}.csv"),  # the run's day
        mode="reschedule",  # free the worker between looks
        poke_interval=POKE_INTERVAL_S,
        timeout=timedelta(hours=20),  # no file by then: the run fails
    )

    @task(outlets=[FEATURES])
    def compute_features(
        readings: str, partition_key: str = "", outlet_events: Any = None
    ) -> dict[str, Any]:
        """Write the day's features and describe them in the asset event's extra (the event
        is recorded for the run's partition)."""
        features = features_of(read_readings(Path(readings)))
        if not features:
            raise TaskFailedNoRetry(f"{readings}: no open hour (every row has 0 visitors)")
        target = DATA / "features" / f"features_{partition_key}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".csv.partial")
        with partial.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(features[0]))
            writer.writeheader()
            writer.writerows(features)
        os.replace(partial, target)  # the training DAG never reads half a file
        summary = {"day": partition_key, "path": str(target), "rows": len(features)}
        outlet_events[FEATURES].extra.update(summary)  # JSON values: the event's metadata
        return summary

    compute_features(wait_for_readings.output)  # the sensor's XCom: the path it found
