"""Choosing the instances to clear or mark: upstream as well as downstream, one map index
of a mapped task, and the dry run of a mark (SQLite, PostgreSQL; runs that really ran)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.engine.records import TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.operations import (
    ConflictError,
    InvalidRequestError,
    clear_task_instances,
    mark_task_instances,
    task_instances_to_clear,
    task_instances_to_mark,
)
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import run_now

NOW = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)


def _labels(tis: list[TaskInstance]) -> list[str]:
    return [ti.key.label for ti in tis]


def _states(store: SqlStore, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti.key.label: ti.state.value for ti in store.get_task_instances(dag_id, run_id)}


def test_upstream_adds_every_task_above_in_dependency_order(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    chosen = task_instances_to_clear(store, "etl", "r1", ["load"], upstream=True)
    assert _labels(chosen) == ["extract", "double[0]", "double[1]", "double[2]", "load"]
    both = task_instances_to_clear(store, "etl", "r1", ["double"], upstream=True, downstream=True)
    assert _labels(both) == [
        "extract",
        "double[0]",
        "double[1]",
        "double[2]",
        "load",
        "report",
    ]


def test_a_map_index_narrows_the_named_task_only(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "partly", "r1", settings)
    chosen = task_instances_to_clear(
        store, "partly", "r1", ["half"], map_index=1, upstream=True, downstream=True
    )
    assert _labels(chosen) == ["numbers", "half[1]", "total"]
    keys = clear_task_instances(store, "partly", "r1", ["half"], map_index=1, now=NOW)
    assert [k.label for k in keys] == ["half[1]"]
    assert _states(store, "partly", "r1")["half[1]"] == "none"
    assert _states(store, "partly", "r1")["half[0]"] == "success"


def test_a_missing_map_index_is_refused_naming_those_there_are(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    with pytest.raises(InvalidRequestError, match=r"^map_index: task 'boom' has no map index 0; "):
        task_instances_to_clear(store, "flaky", "r1", ["boom"], map_index=0)
    with pytest.raises(InvalidRequestError, match="its map indexes: -1"):
        task_instances_to_mark(store, "flaky", "r1", ["boom"], "success", map_index=0)


def test_the_dry_run_of_a_mark_is_what_the_mark_changes(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    before = _states(store, "flaky", "r1")
    preview = task_instances_to_mark(store, "flaky", "r1", ["after"], "failed", upstream=True)
    # start succeeded: it changes; boom already failed: it does not
    assert _labels(preview) == ["start", "after"]
    assert _states(store, "flaky", "r1") == before
    keys = mark_task_instances(store, "flaky", "r1", ["after"], "failed", upstream=True, now=NOW)
    assert [k.label for k in keys] == _labels(preview)
    assert _states(store, "flaky", "r1") == {"start": "failed", "boom": "failed", "after": "failed"}


def test_the_dry_run_of_a_mark_refuses_what_the_mark_refuses(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    with pytest.raises(InvalidRequestError, match="state 'running' is not valid"):
        task_instances_to_mark(store, "flaky", "r1", ["boom"], "running")
    ti = store.get_task_instance("flaky", "r1", "boom")
    assert ti is not None
    ti.state = TaskInstanceState.RUNNING
    store.save_task_instances([ti])
    with pytest.raises(ConflictError, match="queued or running: 'boom' \\(running\\)"):
        task_instances_to_mark(store, "flaky", "r1", ["start"], "success", downstream=True)
