"""Triggering runs, pausing and deleting DAGs and runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import DagNotFoundError, HeadwaterError, ParamValidationError
from headwater.operations import (
    ConflictError,
    DagNotInDatabaseError,
    InvalidRequestError,
    NotFoundError,
    clear_task_instances,
    delete_dag,
    delete_run,
    set_paused,
    trigger_run,
)
from headwater.settings import Settings
from headwater.store import backfills
from headwater.store.assets import OUTLET, SCHEDULE, AssetReference
from headwater.store.sql import SqlStore
from headwater.store.sql.unit_of_work import SqlUnitOfWork
from stored_dags import JAN_1, run_now, scan_here

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_trigger_queues_a_manual_run_with_every_task(store: SqlStore) -> None:
    run = trigger_run(store, "etl", conf={"region": "us"}, now=NOW)
    assert run.run_id == f"manual__{NOW.isoformat()}"
    stored = store.get_dag_run("etl", run.run_id)
    assert stored is not None
    assert stored.state is DagRunState.QUEUED
    assert stored.run_type == "manual"
    assert stored.logical_date == NOW
    assert (stored.data_interval_start, stored.data_interval_end) == (
        datetime(2024, 6, 1, tzinfo=UTC),
        datetime(2024, 6, 2, tzinfo=UTC),
    )
    assert stored.conf == {"region": "us"}
    assert stored.params == {"region": "us"}
    tis = {ti.task_id: ti for ti in store.get_task_instances("etl", run.run_id)}
    assert sorted(tis) == ["double", "extract", "load", "report"]
    assert {ti.state for ti in tis.values()} == {TaskInstanceState.NONE}
    assert tis["double"].map_index == -1 and tis["double"].max_tries == 3
    [event] = store.list_events(dag_id="etl", kind="trigger")
    assert event.run_id == run.run_id and event.at == NOW
    assert json.loads(event.detail or "") == {"region": "us"}


def test_trigger_with_run_id_and_logical_date(store: SqlStore) -> None:
    when = datetime(2024, 3, 5, 6, tzinfo=UTC)
    run = trigger_run(store, "etl", run_id="by_hand", logical_date=when, now=NOW)
    assert (run.run_id, run.logical_date) == ("by_hand", when)
    assert run.data_interval_start == datetime(2024, 3, 5, tzinfo=UTC)
    assert run.params == {"region": "eu"}


def test_trigger_refuses_conf_that_fails_the_params_naming_the_param(store: SqlStore) -> None:
    with pytest.raises(ParamValidationError, match="param 'region'"):
        trigger_run(store, "etl", conf={"region": "mars"}, now=NOW)
    assert store.list_dag_runs("etl") == []


def test_trigger_refuses_a_taken_run_id(store: SqlStore) -> None:
    trigger_run(store, "etl", run_id="once", now=NOW)
    with pytest.raises(ConflictError, match="run_id 'once' is taken"):
        trigger_run(store, "etl", run_id="once", now=NOW + timedelta(hours=1))
    assert len(store.list_dag_runs("etl")) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"run_id": "a/b"}, HeadwaterError, "run_id 'a/b' is not valid"),
        ({"logical_date": datetime(2024, 1, 1)}, InvalidRequestError, "has no time zone"),
    ],
)
def test_trigger_refuses_bad_input(store: SqlStore, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        trigger_run(store, "etl", now=NOW, **kwargs)


def test_trigger_of_a_dag_not_in_the_database(store: SqlStore) -> None:
    with pytest.raises(DagNotInDatabaseError, match="no DAG 'nope' in the database") as caught:
        trigger_run(store, "nope", now=NOW)
    assert isinstance(caught.value, DagNotFoundError)
    assert "etl, flaky, partly" in str(caught.value)


def test_trigger_of_a_dag_no_file_defines_any_more(store: SqlStore, folder: Path) -> None:
    (folder / "dags.py").unlink()
    scan_here(store, folder)
    with pytest.raises(ConflictError, match="no longer defined by any DAG file"):
        trigger_run(store, "etl", now=NOW)


def test_pause_and_unpause_are_stored(store: SqlStore) -> None:
    assert set_paused(store, "etl", True).is_paused is True
    row = store.get_dag("etl")
    assert row is not None and row.is_paused
    assert store.get_dag("flaky").is_paused is False  # type: ignore[union-attr]
    assert set_paused(store, "etl", False).is_paused is False
    assert [e.detail for e in store.list_events(dag_id="etl", kind="pause")] == [
        "paused",
        "unpaused",
    ]
    with pytest.raises(DagNotInDatabaseError, match="'nope'"):
        set_paused(store, "nope", True)


def test_a_paused_dag_can_be_triggered(store: SqlStore) -> None:
    set_paused(store, "etl", True)
    assert trigger_run(store, "etl", now=NOW).state is DagRunState.QUEUED


def test_delete_dag_removes_everything_and_the_file_comes_back_fresh(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    trigger_run(store, "etl", run_id="r2", now=NOW)
    backfills.create_backfill(store, "etl", JAN_1, JAN_1, "failed", 1, NOW)
    set_paused(store, "etl", True)
    counts = delete_dag(store, "etl")
    assert counts["dags"] == 1 and counts["dag_runs"] == 2 and counts["backfills"] == 1
    assert counts["task_instances"] == 2 * 4 + 2  # r1's double expanded to three
    assert counts["xcoms"] > 0 and counts["task_attempts"] > 0 and counts["dag_files"] == 1
    assert store.get_dag("etl") is None
    assert store.list_dag_runs("etl") == []
    assert backfills.list_backfills(store, "etl") == []
    # Only etl went: the other DAGs of the file stay, and their runs too.
    assert store.get_dag("flaky") is not None
    assert [e.kind for e in store.list_events(dag_id="etl", kind="delete_dag")] == ["delete_dag"]
    # The file still defines etl: the next scan stores it again, unpaused and without runs.
    scan_here(store, folder)
    row = store.get_dag("etl")
    assert row is not None and row.is_active and not row.is_paused
    assert store.list_dag_runs("etl") == []


def test_delete_dag_forgets_its_ties_to_assets_but_keeps_the_assets(store: SqlStore) -> None:
    sales, other = "s3://bucket/sales.parquet", "s3://bucket/other.parquet"
    store.set_dag_asset_references(
        "etl",
        [],
        [AssetReference("etl", sales, SCHEDULE), AssetReference("etl", other, OUTLET, "load")],
        NOW,
    )
    store.set_dag_asset_references("flaky", [], [AssetReference("flaky", sales, SCHEDULE)], NOW)
    store.create_asset_event(sales, timestamp=NOW, extra={}, created_by="test")
    assert {q.dag_id for q in store.queued_asset_events()} == {"etl", "flaky"}
    delete_dag(store, "etl")
    assert store.list_dag_asset_references(dag_id="etl") == []
    assert [q.dag_id for q in store.queued_asset_events()] == ["flaky"]
    assert [r.dag_id for r in store.list_dag_asset_references(uri=sales)] == ["flaky"]
    assert store.get_asset_by_uri(other) is not None  # assets and events are shared
    assert store.count_asset_events() == 1


def test_delete_dag_of_an_unknown_dag(store: SqlStore) -> None:
    with pytest.raises(DagNotInDatabaseError):
        delete_dag(store, "nope")


def test_delete_run_cascades(store: SqlStore, folder: Path, settings: Settings) -> None:
    run_now(store, folder, "etl", "r1", settings)
    run_now(store, folder, "etl", "r2", settings)
    deleted = delete_run(store, "etl", "r1")
    assert deleted.state is DagRunState.SUCCESS
    assert [r.run_id for r in store.list_dag_runs("etl")] == ["r2"]
    assert store.get_task_instances("etl", "r1") == []
    assert store.get_attempts("etl", "r1") == []
    assert store.get_mapped_xcoms("etl", "r1", "double", "return_value") == []
    assert store.get_mapped_xcoms("etl", "r2", "double", "return_value") == ["2", "4", "6"]
    with pytest.raises(NotFoundError, match="DAG 'etl' has no run 'r1'"):
        delete_run(store, "etl", "r1")


def _cleared(store: SqlStore) -> bool:
    return any(t.state is TaskInstanceState.NONE for t in store.get_task_instances("etl", "r1"))


ACTIONS = {
    "pause": (
        lambda store: set_paused(store, "etl", True),
        lambda store: store.get_dag("etl").is_paused,
    ),
    "trigger": (
        lambda store: trigger_run(store, "etl", run_id="r9", now=NOW),
        lambda store: store.get_dag_run("etl", "r9") is not None,
    ),
    "clear": (
        lambda store: clear_task_instances(store, "etl", "r1", ["extract"], now=NOW),
        _cleared,
    ),
    "delete_run": (
        lambda store: delete_run(store, "etl", "r1"),
        lambda store: store.get_dag_run("etl", "r1") is None,
    ),
    "delete_dag": (
        lambda store: delete_dag(store, "etl"),
        lambda store: store.get_dag("etl") is None,
    ),
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_an_action_whose_event_cannot_be_written_changes_nothing(
    store: SqlStore, folder: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The change and its event are one unit of work: without the event, no change."""
    run_now(store, folder, "etl", "r1", settings)
    action, changed = ACTIONS[name]
    before = store.list_events(dag_id="etl", limit=None)

    def refuse(*_args: object, **_kwargs: object) -> int:
        raise HeadwaterError("the event log is full")

    monkeypatch.setattr(SqlUnitOfWork, "record_event", refuse)
    with pytest.raises(HeadwaterError, match="the event log is full"):
        action(store)
    assert not changed(store)
    assert store.list_events(dag_id="etl", limit=None) == before
