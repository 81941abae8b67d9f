"""The worked example of docs/data-aware.md (examples/ml_features.py and ml_training.py), run
as the docs tell a new user to: the two files in the DAGs folder of a fresh HEADWATER_HOME,
``headwater standalone`` as a real process, input files dropped into ``output/ml/incoming``.

One worker slot (``parallelism=1``) for everything: a features run whose sensor waits for
its file must not keep another features run, or the training DAG, from running. Each
features update (an event of the asset, for one day's partition) starts exactly one training
run, for that day.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from command_processes import clean_env, kill_session, run_headwater, wait_for
from headwater.engine.records import DagRun
from headwater.store.sql import SqlStore
from headwater.testing import FakeClock, MemoryStore, assert_dags_load, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
READINGS = EXAMPLES / "data" / "ml" / "kiosk_readings.csv"
FEATURES_URI = "file://examples/output/ml/features"
MANUAL_DAY = "2024-06-01"
DOCS = REPO / "docs" / "data-aware.md"


def worked_example() -> str:
    text = DOCS.read_text()
    return text[text.index("## Worked example") :]


def docs_readings() -> str:
    """The readings file the worked example tells the reader to write (a heredoc)."""
    match = re.search(r"kiosk_2026-12-04\.csv <<'CSV'\n(.*?)CSV\n", worked_example(), re.S)
    assert match, "the worked example no longer writes a readings file with a heredoc"
    return match.group(1)


def copy_example(dags: Path, *, poke_interval_s: float) -> None:
    """The two DAG files in ``dags``, the sensor looking every ``poke_interval_s`` seconds
    (30 in the shipped file: too slow for a test)."""
    dags.mkdir(parents=True)
    shutil.copy(EXAMPLES / "ml_training.py", dags)
    source = (EXAMPLES / "ml_features.py").read_text()
    assert "POKE_INTERVAL_S = 30 " in source
    (dags / "ml_features.py").write_text(
        source.replace("POKE_INTERVAL_S = 30 ", f"POKE_INTERVAL_S = {poke_interval_s} ")
    )


def drop_readings(dags: Path, day: str, *, scale: float = 1.0) -> None:
    """The sample readings as the file of ``day`` (sales multiplied by ``scale``), written
    whole at once as a real drop would be (a rename)."""
    incoming = dags / "output" / "ml" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    lines = READINGS.read_text().splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        hour, temperature, visitors, sold = line.split(",")
        rows.append(f"{hour},{temperature},{visitors},{round(int(sold) * scale)}")
    partial = incoming / f".kiosk_{day}.partial"
    partial.write_text("\n".join(rows) + "\n")
    partial.rename(incoming / f"kiosk_{day}.csv")


def expected_fit(scale: float) -> tuple[float, float]:
    """Slope and intercept over the open hours of the readings, sales scaled."""
    temperatures, sales = [], []
    for line in READINGS.read_text().splitlines()[1:]:
        _, temperature, visitors, sold = line.split(",")
        if int(visitors) > 0:
            temperatures.append(float(temperature))
            sales.append(float(round(int(sold) * scale)))
    fit = statistics.linear_regression(temperatures, sales)
    return round(fit.slope, 4), round(fit.intercept, 4)


# -- the docs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ml_features", "ml_training"])
def test_the_worked_example_prints_the_example_files_as_they_are(name: str) -> None:
    source = (EXAMPLES / f"{name}.py").read_text()
    docstring = ast.parse(source).body[0]
    code = "\n".join(source.splitlines()[docstring.end_lineno :]).strip("\n")
    assert f"`{name}.py`:\n\n```python\n{code}\n```\n" in worked_example()


def test_the_docs_readings_are_the_open_hours_of_the_sample_file() -> None:
    header, *rows = READINGS.read_text().splitlines()
    open_hours = [row for row in rows if row.split(",")[2] != "0"]
    assert docs_readings().splitlines() == [header, *open_hours]


# -- in one process ----------------------------------------------------------------------------


def test_features_then_training_in_one_process(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    copy_example(dags, poke_interval_s=30)
    bag = assert_dags_load(dags)
    assert set(bag.dags) == {"ml_features", "ml_training"}
    incoming = dags / "output" / "ml" / "incoming"
    incoming.mkdir(parents=True)
    (incoming / f"kiosk_{MANUAL_DAY}.csv").write_text(docs_readings())  # as the docs do
    store = MemoryStore()
    clock = FakeClock(datetime.fromisoformat("2024-06-02T06:00:00+00:00"))

    features = run_dag(
        bag.get_dag("ml_features"),
        logical_date=datetime.fromisoformat(f"{MANUAL_DAY}T00:00:00+00:00"),
        store=store,
        clock=clock,
    )

    assert features.task_states == {"wait_for_readings": "success", "compute_features": "success"}
    target = dags / "output" / "ml" / "features" / f"features_{MANUAL_DAY}.csv"
    assert features.xcom("compute_features") == {"day": MANUAL_DAY, "path": str(target), "rows": 14}
    header, *rows = target.read_text().splitlines()
    assert header == "hour,temperature_c,visitors,ice_creams_sold,sales_per_visitor"
    assert len(rows) == 14 and rows[0].startswith("8,17.0,37,16,")  # closed hours left out
    [event] = store.list_asset_events()
    assert (event.uri, event.extra, event.source_dag_id) == (
        FEATURES_URI,
        {"day": MANUAL_DAY, "path": str(target), "rows": 14},
        "ml_features",
    )

    assert event.partition_key == MANUAL_DAY  # the run's partition: its day

    # A manual training run has no triggering event: it trains on the newest one of its day
    # (inlets).
    training = run_dag(
        bag.get_dag("ml_training"),
        logical_date=datetime.fromisoformat(f"{MANUAL_DAY}T00:00:00+00:00"),
        store=store,
        clock=clock,
    )

    assert training.succeeded, training.task_states
    model = training.xcom("train")
    assert (model["slope"], model["intercept"]) == expected_fit(1.0)
    assert (model["days"], model["event_ids"], model["rows"]) == ([MANUAL_DAY], [event.id], 14)
    assert model["r_squared"] > 0.9
    assert set(training.xcom("check_model")) == {"15 C", "20 C", "25 C", "30 C"}
    latest = json.loads((dags / "output" / "ml" / "models" / "latest.json").read_text())
    assert latest["slope"] == model["slope"]


def test_a_bad_readings_file_fails_naming_the_file_and_line(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    copy_example(dags, poke_interval_s=30)
    incoming = dags / "output" / "ml" / "incoming"
    incoming.mkdir(parents=True)
    bad = incoming / f"kiosk_{MANUAL_DAY}.csv"
    bad.write_text("hour,temperature_c,visitors,ice_creams_sold\n08,17.0,37,16\n09,warm,40,21\n")
    store = MemoryStore()

    result = run_dag(
        assert_dags_load(dags).get_dag("ml_features"),
        logical_date=datetime.fromisoformat(f"{MANUAL_DAY}T00:00:00+00:00"),
        store=store,
    )

    assert result.task_states == {"wait_for_readings": "success", "compute_features": "failed"}
    assert f"{bad}, line 3: could not convert string to float: 'warm'" in result.log(
        "compute_features"
    )
    assert store.list_asset_events() == []  # a failed try records no event


def test_training_without_any_features_event_says_what_to_do(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    copy_example(dags, poke_interval_s=30)
    result = run_dag(assert_dags_load(dags).get_dag("ml_training"), store=MemoryStore())
    assert result.task_states == {"train": "failed", "check_model": "upstream_failed"}
    assert f"no event of {FEATURES_URI} for " in result.log("train")
    assert "yet: run ml_features for that day first" in result.log("train")


# -- as a new user runs it: headwater standalone -----------------------------------------------


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, subprocess.Popen[str]]]:
    home = tmp_path / "home"
    dags = home / "dags"  # the default DAGs folder of a fresh HEADWATER_HOME
    copy_example(dags, poke_interval_s=0.3)
    env = {
        **clean_env(home),
        "HEADWATER__SCHEDULER__PARALLELISM": "1",  # one worker slot for every task
        "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        "HEADWATER__SCHEDULER__DAG_DIR_LIST_INTERVAL_S": "0.5",
    }
    log = (tmp_path / "standalone.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "standalone", "--no-ui"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield env, dags, process
    finally:
        kill_session(process.pid)
        process.wait()
        log.close()


@pytest.mark.slow
def test_each_features_update_trains_once_and_waiting_holds_no_worker(
    standalone: tuple[dict[str, str], Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    env, dags, process = standalone
    store = SqlStore.from_url(f"sqlite:///{dags.parent / 'headwater.db'}")
    log_file = tmp_path / "standalone.log"

    def check_alive() -> None:
        assert process.poll() is None, log_file.read_text()

    def runs(dag_id: str) -> list[DagRun]:
        check_alive()
        try:
            return store.list_dag_runs(dag_id)
        except Exception:  # the database is still being created by the standalone
            return []

    def sensor(run: DagRun) -> tuple[str, int]:
        [ti] = [
            t
            for t in store.get_task_instances(run.dag_id, run.run_id)
            if t.key.task_id == "wait_for_readings"
        ]
        pokes = len(store.get_attempts(run.dag_id, run.run_id, "wait_for_readings"))
        return ti.state.value, pokes

    def ended(dag_id: str, count: int) -> bool:
        found = runs(dag_id)
        return len(found) >= count and all(r.state.value in ("success", "failed") for r in found)

    try:
        # The fresh home gets the features run of yesterday's partition (catchup=False): it
        # waits.
        wait_for(lambda: runs("ml_features"), "the scheduled run of ml_features", 60)
        [scheduled] = runs("ml_features")
        yesterday = scheduled.logical_date.date().isoformat()
        assert scheduled.partition_key == yesterday
        wait_for(lambda: sensor(scheduled)[1] >= 2, "two pokes of the scheduled run's sensor")
        wait_for(lambda: sensor(scheduled)[0] == "up_for_reschedule", "the sensor between pokes")

        # A second features run, for another day, its file dropped: it runs to its end on
        # the one worker slot while the first sensor still waits for its file.
        trigger = run_headwater(
            env, "dags", "trigger", "ml_features", "--partition", MANUAL_DAY, "--run-id", "day_one"
        )
        assert trigger.returncode == 0, trigger.stderr
        drop_readings(dags, MANUAL_DAY)
        wait_for(lambda: ended("ml_training", 1), "the first training run", 60)

        assert store.get_dag_run("ml_features", "day_one").state.value == "success"
        # Still waiting (between pokes, or poking), and it held no slot meanwhile.
        assert store.get_dag_run("ml_features", scheduled.run_id).state.value == "running"
        state, pokes_before = sensor(scheduled)
        assert state != "success"
        wait_for(lambda: sensor(scheduled)[1] > pokes_before, "the waiting sensor pokes again")

        # The second update: yesterday's file, different sales.
        drop_readings(dags, yesterday, scale=2.0)
        wait_for(lambda: ended("ml_training", 2), "the second training run", 60)
        assert store.get_dag_run("ml_features", scheduled.run_id).state.value == "success"
    finally:
        check_alive()

    # Two updates, two training runs: each consumed its one event, nothing is left queued.
    training = sorted(runs("ml_training"), key=lambda r: r.logical_date)
    assert [(r.run_type, r.state.value) for r in training] == [("asset_triggered", "success")] * 2
    assert store.queued_asset_events("ml_training") == []
    triggering = [store.triggering_asset_events("ml_training", r.run_id) for r in training]
    assert [[e.extra["day"] for e in events] for events in triggering] == [
        [MANUAL_DAY],
        [yesterday],
    ]
    assert [r.partition_key for r in training] == [MANUAL_DAY, yesterday]  # matching days
    for run in training:
        [train] = store.get_attempts("ml_training", run.run_id, "train")
        assert train.state.value == "success"
    models = dags / "output" / "ml" / "models"
    latest = json.loads((models / "latest.json").read_text())
    assert (latest["slope"], latest["intercept"]) == expected_fit(2.0)
    assert latest["days"] == [yesterday]
    assert len(list(models.glob("model_*.json"))) == 2
    created = [
        line
        for line in log_file.read_text().splitlines()
        if "of ml_training, triggered by 1 asset event(s)" in line
    ]
    assert len(created) == 2, created
    store.close()
