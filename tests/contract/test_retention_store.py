"""The data-retention port (:mod:`headwater.store.retention`): MemoryStore and SqlStore
(SQLite, PostgreSQL) pick the same runs, events and asset events, count and delete the same
rows (the seed and its expectations: ``tests/retention_seeds.py``)."""

from __future__ import annotations

from headwater.engine.records import TaskInstanceKey
from headwater.store.ports import Store
from headwater.store.retention import RUN_TABLES
from retention_seeds import CUTOFF, KEPT_RUNS, REMOVED_ROWS, REMOVED_RUNS, seed


def _all_removable(store: Store, dag_id: str | None = None) -> list[tuple[str, str]]:
    return store.removable_runs(CUTOFF, dag_id=dag_id, after=None, limit=100)


def test_removable_runs_are_old_finished_and_not_a_dags_newest(any_store: Store) -> None:
    seed(any_store)
    assert _all_removable(any_store) == sorted(REMOVED_RUNS)
    assert _all_removable(any_store, "sched") == [("sched", "s0")]
    assert _all_removable(any_store, "solo") == []
    # Pages in (dag_id, run_id) order.
    first = any_store.removable_runs(CUTOFF, dag_id=None, after=None, limit=2)
    assert first == [("etl", "old_failed"), ("etl", "old_ok")]
    rest = any_store.removable_runs(CUTOFF, dag_id=None, after=first[-1], limit=2)
    assert rest == [("sched", "s0")]


def test_count_then_delete_runs_with_their_rows(any_store: Store) -> None:
    seed(any_store)
    runs = _all_removable(any_store)
    counted = any_store.count_run_rows(runs)
    expected = {t: REMOVED_ROWS[t] for t in ("dag_runs", *RUN_TABLES)}
    expected["events"] = 1  # the run's own; those without a run are not the runs' rows
    assert counted == expected
    deleted = any_store.delete_runs(runs)
    assert deleted == {**expected, "backfills": 1}
    for dag_id, run_id in REMOVED_RUNS:
        assert any_store.get_dag_run(dag_id, run_id) is None
        assert any_store.get_task_instances(dag_id, run_id) == []
        assert any_store.get_attempts(dag_id, run_id, "a") == []
        assert any_store.list_events(dag_id=dag_id, run_id=run_id) == []
    assert any_store.get_xcom(TaskInstanceKey("etl", "old_ok", "a"), "return_value") is None
    assert any_store.get_xcom(TaskInstanceKey("etl", "recent", "a"), "return_value") == '"new"'
    for dag_id, run_id in KEPT_RUNS:
        assert any_store.get_dag_run(dag_id, run_id) is not None
        assert any_store.get_task_instances(dag_id, run_id) != []
    assert any_store.list_backfills() == []
    assert [e.id for e in any_store.triggering_asset_events("etl", "recent")] != []
    assert _all_removable(any_store) == []
    assert any_store.delete_runs([]) == dict.fromkeys(deleted, 0)


def test_old_events_without_a_run(any_store: Store) -> None:
    seeded = seed(any_store)
    found = any_store.old_event_ids(CUTOFF, dag_id=None, after=0, limit=100)
    # old_ok's own event is the run's until the run goes; then it is without a run.
    assert set(found) == seeded.removed_event_ids - {min(seeded.removed_event_ids)}
    assert any_store.old_event_ids(CUTOFF, dag_id="solo", after=0, limit=100) == []
    assert any_store.old_event_ids(CUTOFF, dag_id=None, after=found[0], limit=1) == found[1:2]
    assert any_store.delete_events(found) == 2
    remaining = {e.id for e in any_store.list_events(limit=None)}
    assert seeded.kept_event_ids <= remaining
    assert not remaining & set(found)


def test_old_asset_events_nobody_needs(any_store: Store) -> None:
    seeded = seed(any_store)
    ids = seeded.asset_event_ids
    removable = {ids["old_ok"], ids["old_failed"]}
    # The same before and after the removable runs (their consumers) are deleted.
    assert set(any_store.old_asset_event_ids(CUTOFF, dag_id=None, after=0, limit=100)) == removable
    any_store.delete_runs(_all_removable(any_store))
    found = any_store.old_asset_event_ids(CUTOFF, dag_id=None, after=0, limit=100)
    assert set(found) == removable
    assert any_store.old_asset_event_ids(CUTOFF, dag_id="solo", after=0, limit=100) == []
    assert any_store.delete_asset_events(found) == 2
    left = {e.id for e in any_store.list_asset_events()}
    assert left == set(ids.values()) - removable
    assert any_store.old_asset_event_ids(CUTOFF, dag_id=None, after=0, limit=100) == []
