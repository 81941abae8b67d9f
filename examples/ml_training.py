"""Train a model each time new features are published: a DAG scheduled on an asset.

``ml_features.py`` records an event of the asset ``kiosk_features`` each time it writes a
day's features, for that day's partition. This DAG is scheduled on that asset and
partitioned by day the same way, so the scheduler starts one run per updated day, carrying
that day's key (an asset-triggered run, which consumes the events that triggered it: an
update starts one run, never two)::

    train                         ->  check_model
    (reads the features files its      (fails the run when the fit is poor; logs what
     triggering events name; fits       the model predicts)
     sales = slope * temperature +
     intercept; writes the model)

It shows:

* ``schedule=[FEATURES]`` with ``partitions=DAYS``: no time schedule, a run per day whose
  partition of the asset is updated (the matching partition only);
* ``triggering_asset_events``: the events that started the run, with the ``extra``
  metadata the producing task attached (here the day and the path of its features file);
* ``inlets`` and ``inlet_events``: a run started by hand (no triggering events) trains on
  the newest stored event of its day instead.

The model is a straight line fitted with the standard library
(``statistics.linear_regression``): the point is the orchestration, not the learning.
Under the scheduler, with the features DAG: docs/data-aware.md, "Worked example".
"""

from __future__ import annotations

import csv
import json
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater import DAG, Asset, TaskFailedNoRetry, TimePartitions, task

HERE = Path(__file__).resolve().parent
MODELS = HERE / "output" / "ml" / "models"
MIN_R_SQUARED = 0.5  # check_model fails the run below this

# The same days and the same URI as in ml_features.py: one asset, produced there and
# consumed here.
DAYS = TimePartitions("daily", start=datetime(2024, 1, 1, tzinfo=UTC))
FEATURES = Asset(
    "file://examples/output/ml/features", name="kiosk_features", group="ml", partitions=DAYS
)


def read_features(path: str) -> tuple[list[float], list[float]]:
    """The temperatures and sales of a features file."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [float(r["temperature_c"]) for r in rows], [float(r["ice_creams_sold"]) for r in rows]


with DAG(
    dag_id="ml_training",
    schedule=[FEATURES],  # a run each time ml_features publishes new features of a day
    partitions=DAYS,  # ... for that day only: the run's partition_key
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    max_active_runs=1,  # updates that come during a run wait for it, then start one run
    tags=["example", "ml", "assets"],
    doc_md=__doc__,
):

    @task(inlets=[FEATURES])
    def train(
        triggering_asset_events: Any = None,
        inlet_events: Any = None,
        logical_date: datetime | None = None,
        partition_key: str = "",
    ) -> dict[str, Any]:
        """Fit sales against temperature over the features the run was triggered by."""
        events = list(triggering_asset_events.get(FEATURES.uri, []))
        if not events:  # a manual run: the newest features published for its day
            mine = [e for e in inlet_events[FEATURES] if e.partition_key == partition_key]
            events = mine[-1:]
        if not events:
            raise TaskFailedNoRetry(
                f"no event of {FEATURES.uri} for {partition_key} yet: run ml_features for "
                "that day first (this DAG runs by itself each time it publishes features)"
            )
        temperatures: list[float] = []
        sales: list[float] = []
        for event in events:
            print(f"Event {event.id} of {event.timestamp:%Y-%m-%d %H:%M:%S}: {event.extra}")
            x, y = read_features(event.extra["path"])
            temperatures += x
            sales += y
        fit = statistics.linear_regression(temperatures, sales)
        model = {
            "slope": round(fit.slope, 4),
            "intercept": round(fit.intercept, 4),
            "r_squared": round(statistics.correlation(temperatures, sales) ** 2, 4),
            "rows": len(sales),
            "days": [event.extra.get("day") for event in events],
            "event_ids": [event.id for event in events],
        }
        MODELS.mkdir(parents=True, exist_ok=True)
        # One file per run: its logical date (the moment it was triggered) to the microsecond.
        path = MODELS / f"model_{logical_date:%Y%m%dT%H%M%S%f}.json"
        path.write_text(json.dumps(model, indent=2) + "\n")
        (MODELS / "latest.json").write_text(json.dumps({**model, "path": str(path)}, indent=2))
        print(f"Trained on {model['rows']} rows of {model['days']}: {model} -> {path}")
        return model

    @task
    def check_model(model: dict[str, Any]) -> dict[str, float]:
        """Fail when the line explains too little; say what it predicts."""
        if model["r_squared"] < MIN_R_SQUARED:
            raise TaskFailedNoRetry(
                f"r_squared {model['r_squared']} is below {MIN_R_SQUARED}: model not kept"
            )
        predictions = {
            f"{t} C": round(model["slope"] * t + model["intercept"], 1) for t in (15, 20, 25, 30)
        }
        print(f"Ice creams an hour, predicted: {predictions}")
        return predictions

    check_model(train())
