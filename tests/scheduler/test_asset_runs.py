"""Asset-triggered runs under the scheduler (in process, fake clock): a DAG runs once per
satisfied condition, `[a, b]` waits for both, `a | b` for either, time and assets together,
paused DAGs and max_active_runs keep events queued, triggering events reach the context and
templates, and an event recorded while no scheduler runs triggers its DAG once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.engine.records import DagRun

ASSETS = """
from headwater import Asset, AssetAlias, AssetOrTimeSchedule
SALES = Asset("s3://bucket/sales.parquet")
STOCK = Asset("s3://bucket/stock.parquet")
"""

PRODUCER = """
with DAG("producer", start_date=START, schedule=None):
    def write(outlet_events):
        outlet_events[SALES].extra["rows"] = 7
    PythonOperator(task_id="write", python_callable=write, outlets=[SALES])
"""

CONSUMERS = """
def seen(triggering_asset_events, uris):
    return {"uris": uris, "extras": {u: [e.extra for e in es]
                                     for u, es in triggering_asset_events.items()}}

for dag_id, schedule in (("both", [SALES, STOCK]), ("either", SALES | STOCK)):
    with DAG(dag_id, start_date=START, schedule=schedule):
        PythonOperator(
            task_id="read",
            python_callable=seen,
            op_kwargs={"uris": "{{ triggering_asset_events | list | join(',') }}"},
        )
"""


def _harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str | None) -> Harness:
    clock = FakeClock(at(4, 0, 30))
    if store_url is None:
        return Harness.in_memory(tmp_path, monkeypatch, clock)
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    monkeypatch.setenv("HEADWATER_DATABASE_URL", store_url)
    return Harness(store_url, folder, clock)


@pytest.fixture
def mem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    harness = _harness(tmp_path, monkeypatch, None)
    yield harness
    harness.close()


def _asset_runs(h: Harness, dag_id: str) -> list[DagRun]:
    return [r for r in h.runs(dag_id) if r.run_type == "asset_triggered"]


def _settle(h: Harness) -> None:
    """Passes until no run is active."""
    h.run_until(
        lambda: all(
            r.state.value in ("success", "failed")
            for dag_id in ("producer", "both", "either", "timed")
            for r in h.runs(dag_id)
        )
    )


def test_conditions_decide_which_dags_run_once_each(mem: Harness) -> None:
    mem.write_dag("assets_flow", ASSETS + PRODUCER + CONSUMERS)
    mem.process()
    both_row = mem.store.get_dag("both")
    assert both_row is not None and both_row.schedule == "assets"  # what `dags list` shows
    produced = mem.trigger("producer")
    _settle(mem)
    assert mem.run_state("producer", produced.run_id) == "success"
    mem.clock.advance(timedelta(seconds=5))
    mem.step()
    _settle(mem)
    # `a | b`: the sales update is enough; `[a, b]` waits for stock as well.
    (either,) = _asset_runs(mem, "either")
    assert _asset_runs(mem, "both") == []
    assert mem.run_state("either", either.run_id) == "success"
    assert either.run_id == f"asset_triggered__{either.logical_date.isoformat()}"
    assert mem.xcom("either", either.run_id, "read") == {
        "uris": "s3://bucket/sales.parquet",
        "extras": {"s3://bucket/sales.parquet": [{"rows": 7}]},
    }
    # More passes without events create nothing more.
    for _ in range(3):
        mem.clock.advance(timedelta(seconds=5))
        mem.step()
    assert len(_asset_runs(mem, "either")) == 1
    # Stock arrives from outside: `both` now has both, and runs with both events.
    mem.store.create_asset_event(
        "s3://bucket/stock.parquet", timestamp=mem.clock.now(), extra={"by": "cli"}
    )
    mem.clock.advance(timedelta(seconds=5))
    mem.step()
    _settle(mem)
    (both,) = _asset_runs(mem, "both")
    assert mem.xcom("both", both.run_id, "read") == {
        "uris": "s3://bucket/sales.parquet,s3://bucket/stock.parquet",
        "extras": {
            "s3://bucket/sales.parquet": [{"rows": 7}],
            "s3://bucket/stock.parquet": [{"by": "cli"}],
        },
    }
    assert len(_asset_runs(mem, "either")) == 2
    assert mem.store.queued_asset_events() == []


def test_two_events_before_the_scheduler_looks_make_one_run(mem: Harness) -> None:
    mem.write_dag("assets_flow", ASSETS + CONSUMERS)
    mem.process()
    first = mem.store.create_asset_event("s3://bucket/sales.parquet", timestamp=at(4, 0, 10))
    second = mem.store.create_asset_event("s3://bucket/sales.parquet", timestamp=at(4, 0, 20))
    mem.step()
    _settle(mem)
    (run,) = _asset_runs(mem, "either")
    assert [e.id for e in mem.store.triggering_asset_events("either", run.run_id)] == [
        first.id,
        second.id,
    ]
    assert (run.data_interval_start, run.data_interval_end) == (at(4, 0, 10), at(4, 0, 20))
    assert run.logical_date == mem.clock.now()


def test_a_paused_dag_keeps_its_events_and_max_active_runs_holds_them(mem: Harness) -> None:
    mem.write_dag(
        "slow",
        ASSETS
        + """
with DAG("either", start_date=START, schedule=SALES | STOCK, max_active_runs=1):
    BashOperator(task_id="wait", bash_command="sleep 0")
""",
    )
    mem.process()
    mem.store.set_dag_paused("either", True)
    mem.store.create_asset_event("s3://bucket/sales.parquet", timestamp=at(4))
    mem.step()
    assert _asset_runs(mem, "either") == []
    assert len(mem.store.queued_asset_events("either")) == 1
    mem.store.set_dag_paused("either", False)
    mem.clock.advance(timedelta(seconds=1))
    mem.scheduler.tick()  # creates the run and starts it; its task is handed over
    assert len(_asset_runs(mem, "either")) == 1
    mem.store.create_asset_event("s3://bucket/stock.parquet", timestamp=at(4, 0, 40))
    mem.clock.advance(timedelta(seconds=1))
    mem.scheduler.tick()  # the first run is active: the second event waits
    assert len(_asset_runs(mem, "either")) == 1
    assert len(mem.store.queued_asset_events("either")) == 1
    _settle(mem)
    mem.clock.advance(timedelta(seconds=1))
    mem.step()
    _settle(mem)
    assert [r.state.value for r in _asset_runs(mem, "either")] == ["success", "success"]


def test_time_and_assets_both_create_runs(mem: Harness) -> None:
    mem.write_dag(
        "timed",
        ASSETS
        + """
with DAG("timed", start_date=START, schedule=AssetOrTimeSchedule(timetable="@daily", assets=SALES)):
    EmptyOperator(task_id="noop")
""",
    )
    mem.process()
    row = mem.store.get_dag("timed")
    assert row is not None and row.schedule == "@daily or assets"
    mem.step()
    _settle(mem)
    assert [r.run_type for r in mem.runs("timed")] == ["scheduled"]
    mem.store.create_asset_event("s3://bucket/sales.parquet", timestamp=mem.clock.now())
    mem.clock.advance(timedelta(seconds=1))
    mem.step()
    _settle(mem)
    assert sorted(r.run_type for r in mem.runs("timed")) == ["asset_triggered", "scheduled"]


def test_alias_outlets_trigger_the_dags_of_the_assets_added_and_of_the_alias(mem: Harness) -> None:
    mem.write_dag(
        "alias_flow",
        ASSETS
        + """
with DAG("producer", start_date=START, schedule=None):
    def write(outlet_events):
        outlet_events[AssetAlias("files")].add(STOCK, extra={"file": "a.csv"})
    PythonOperator(task_id="write", python_callable=write, outlets=[AssetAlias("files")])
with DAG("either", start_date=START, schedule=STOCK):
    EmptyOperator(task_id="noop")
with DAG("both", start_date=START, schedule=AssetAlias("files")):
    EmptyOperator(task_id="noop")
""",
    )
    mem.process()
    mem.trigger("producer")
    _settle(mem)
    mem.clock.advance(timedelta(seconds=1))
    mem.step()
    _settle(mem)
    (run,) = _asset_runs(mem, "either")
    (event,) = mem.store.triggering_asset_events("either", run.run_id)
    assert (event.uri, event.extra, event.source_alias) == (
        "s3://bucket/stock.parquet",
        {"file": "a.csv"},
        "files",
    )
    # The DAG scheduled on the alias ran on the same event.
    (on_alias,) = _asset_runs(mem, "both")
    assert mem.store.triggering_asset_events("both", on_alias.run_id) == [event]
    # An event of the asset that did not come through the alias does not trigger it.
    mem.store.create_asset_event("s3://bucket/stock.parquet", timestamp=mem.clock.now())
    mem.clock.advance(timedelta(seconds=1))
    mem.step()
    _settle(mem)
    assert len(_asset_runs(mem, "both")) == 1
    assert len(_asset_runs(mem, "either")) == 2


def test_an_event_recorded_while_no_scheduler_runs_triggers_its_dag_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "assets.db")
    url = f"sqlite:///{tmp_path / 'assets.db'}"
    first = _harness(tmp_path, monkeypatch, url)
    try:
        first.write_dag("assets_flow", ASSETS + CONSUMERS)
        first.process()
        # No scheduler yet: the event waits in the database.
        first.store.create_asset_event("s3://bucket/sales.parquet", timestamp=at(4))
        first.step()
        _settle(first)
    finally:
        first.close()
    # A scheduler that starts later (after the first stopped) creates nothing more.
    again = _harness(tmp_path, monkeypatch, url)
    try:
        again.clock.advance(timedelta(minutes=1))
        again.step()
        again.step()
        runs = _asset_runs(again, "either")
        assert [r.state.value for r in runs] == ["success"]
        # Only `both` (still waiting for stock) holds the event now.
        assert [q.dag_id for q in again.store.queued_asset_events()] == ["both"]
    finally:
        again.close()
