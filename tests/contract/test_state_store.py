"""The state-store port (:mod:`headwater.store.state_stores`): task-instance state shared by
tries, expiry on read, JSON values, going with the run; asset state by URI. MemoryStore and
SqlStore (SQLite, PostgreSQL) alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db_records import T0, make_run, make_ti
from headwater.store.ports import Store
from headwater.store.state_stores import TaskStateScope

HOUR = timedelta(hours=1)
SCOPE = TaskStateScope("etl", "r1", "load")


def _run(store: Store, run_id: str = "r1") -> None:
    run = make_run(dag_id="etl", run_id=run_id)
    store.create_dag_run(run, [make_ti("load", run)])


def test_task_state_round_trips_json_values(any_store: Store) -> None:
    _run(any_store)
    value = {"job": "job-1", "pages": [1, 2], "done": False, "rows": 1.5}
    any_store.set_task_state(SCOPE, "progress", value, expires_at=None, now=T0)
    assert any_store.get_task_state(SCOPE, "progress", now=T0) == value
    any_store.set_task_state(SCOPE, "progress", ("a", 2), expires_at=None, now=T0 + HOUR)
    assert any_store.get_task_state(SCOPE, "progress", now=T0) == ["a", 2]
    assert any_store.get_task_state(SCOPE, "missing", now=T0) is None


def test_task_state_is_scoped_to_the_instance(any_store: Store) -> None:
    _run(any_store)
    _run(any_store, "r2")
    mapped = TaskStateScope("etl", "r1", "load", 0)
    any_store.set_task_state(SCOPE, "k", "unmapped", expires_at=None, now=T0)
    any_store.set_task_state(mapped, "k", "map 0", expires_at=None, now=T0)
    assert any_store.get_task_state(mapped, "k", now=T0) == "map 0"
    assert any_store.get_task_state(TaskStateScope("etl", "r2", "load"), "k", now=T0) is None
    assert any_store.get_task_state(TaskStateScope("etl", "r1", "other"), "k", now=T0) is None
    assert any_store.list_task_state(SCOPE, now=T0) == {"k": "unmapped"}


def test_expired_task_state_reads_as_absent_and_is_cleaned(any_store: Store) -> None:
    _run(any_store)
    any_store.set_task_state(SCOPE, "short", 1, expires_at=T0 + HOUR, now=T0)
    any_store.set_task_state(SCOPE, "forever", 2, expires_at=None, now=T0)
    assert any_store.get_task_state(SCOPE, "short", now=T0 + HOUR / 2) == 1
    assert any_store.get_task_state(SCOPE, "short", now=T0 + HOUR) is None
    assert any_store.list_task_state(SCOPE, now=T0 + 2 * HOUR) == {"forever": 2}
    assert any_store.delete_expired_task_state(T0 + HOUR / 2) == 0
    assert any_store.delete_expired_task_state(T0 + 2 * HOUR) == 1
    assert any_store.list_task_state(SCOPE, now=T0) == {"forever": 2}


def test_task_state_delete_and_clear(any_store: Store) -> None:
    _run(any_store)
    for key in ("a", "b", "c"):
        any_store.set_task_state(SCOPE, key, key, expires_at=None, now=T0)
    assert any_store.delete_task_state(SCOPE, "a")
    assert not any_store.delete_task_state(SCOPE, "a")
    assert any_store.clear_task_state(SCOPE) == 2
    assert any_store.list_task_state(SCOPE, now=T0) == {}


def test_task_state_goes_with_its_run(any_store: Store) -> None:
    _run(any_store)
    any_store.set_task_state(SCOPE, "k", 1, expires_at=None, now=T0)
    assert any_store.delete_dag_run("etl", "r1")
    _run(any_store)
    assert any_store.get_task_state(SCOPE, "k", now=T0) is None


def test_none_and_non_json_values_are_refused_naming_the_key(any_store: Store) -> None:
    _run(any_store)
    with pytest.raises(ValueError, match="cannot store None for state key 'k'"):
        any_store.set_task_state(SCOPE, "k", None, expires_at=None, now=T0)
    with pytest.raises(TypeError, match=r"etl.load.*state key 'k' is not JSON"):
        any_store.set_task_state(SCOPE, "k", object(), expires_at=None, now=T0)
    with pytest.raises(ValueError, match="state key 'k' is not JSON"):
        any_store.set_task_state(SCOPE, "k", float("nan"), expires_at=None, now=T0)
    with pytest.raises(ValueError, match="non-empty string"):
        any_store.set_asset_state("s3://b/k", "", 1, now=T0)
    assert any_store.list_task_state(SCOPE, now=T0) == {}


def test_asset_state_is_shared_by_uri(any_store: Store) -> None:
    uri = "s3://warehouse/orders"
    any_store.set_asset_state(uri, "watermark", "2026-01-01", now=T0)
    any_store.set_asset_state(uri, "total_runs", 1, now=T0)
    any_store.set_asset_state(uri, "total_runs", 2, now=T0 + HOUR)
    assert any_store.get_asset_state(uri, "total_runs") == 2
    assert any_store.get_asset_state("s3://other", "total_runs") is None
    assert any_store.list_asset_state(uri) == {"total_runs": 2, "watermark": "2026-01-01"}
    assert any_store.delete_asset_state(uri, "watermark")
    assert not any_store.delete_asset_state(uri, "watermark")
    assert any_store.clear_asset_state(uri) == 1
    assert any_store.list_asset_state(uri) == {}


def test_state_written_in_a_failed_unit_of_work_is_not_kept(any_store: Store) -> None:
    _run(any_store)
    with pytest.raises(RuntimeError), any_store.unit_of_work() as uow:
        uow.set_task_state(SCOPE, "k", 1, expires_at=None, now=T0)
        uow.set_asset_state("s3://b/k", "k", 1, now=T0)
        raise RuntimeError("roll back")
    assert any_store.get_task_state(SCOPE, "k", now=T0) is None
    assert any_store.get_asset_state("s3://b/k", "k") is None
