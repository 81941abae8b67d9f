"""The store's metrics port (:mod:`headwater.store.metrics`): grouped counts of runs and task
instances by state, files with import errors, and events of a kind after an id. MemoryStore
and SqlStore (SQLite, PostgreSQL) alike."""

from __future__ import annotations

from db_records import T0, make_run, make_ti
from headwater.db.rows import ImportErrorRow
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.metrics import EventCounts
from headwater.store.ports import Store

S = TaskInstanceState


def test_an_empty_store_counts_nothing(any_store: Store) -> None:
    assert any_store.count_runs_by_state() == {}
    assert any_store.count_tis_by_state() == {}
    assert any_store.count_import_error_files() == 0
    assert any_store.count_events_after("notification_failed", 0) == EventCounts({}, 0)


def test_runs_and_task_instances_are_counted_by_state(any_store: Store) -> None:
    done = make_run(run_id="done", state=DagRunState.SUCCESS)
    going = make_run(run_id="going", day=1, state=DagRunState.RUNNING)
    other = make_run(dag_id="other", run_id="r", state=DagRunState.RUNNING)
    any_store.create_dag_run(done, [make_ti("a", done, state=S.SUCCESS)])
    any_store.create_dag_run(
        going,
        [make_ti("a", going, state=S.RUNNING), make_ti("b", going), make_ti("c", going)],
    )
    any_store.create_dag_run(other, [make_ti("m", other, i, state=S.QUEUED) for i in range(3)])
    assert any_store.count_runs_by_state() == {"success": 1, "running": 2}
    assert any_store.count_tis_by_state() == {"success": 1, "running": 1, "none": 2, "queued": 3}


def test_files_with_import_errors_are_counted_once_each(any_store: Store) -> None:
    any_store.set_import_errors(
        "/dags/a.py",
        [ImportErrorRow("/dags/a.py", "one", T0), ImportErrorRow("/dags/a.py", "two", T0)],
    )
    any_store.set_import_errors("/dags/b.py", [ImportErrorRow("/dags/b.py", "bad", T0)])
    assert any_store.count_import_error_files() == 2
    any_store.clear_import_errors("/dags/a.py")
    assert any_store.count_import_error_files() == 1


def test_events_of_a_kind_are_counted_per_dag_after_an_id(any_store: Store) -> None:
    first = any_store.record_event("notification_failed", at=T0, dag_id="etl", detail="x")
    any_store.record_event("trigger", at=T0, dag_id="etl")
    any_store.record_event("notification_failed", at=T0, dag_id="etl", detail="y")
    last = any_store.record_event("notification_failed", at=T0, detail="no DAG")
    counts = any_store.count_events_after("notification_failed", 0)
    assert counts == EventCounts({"etl": 2, "": 1}, last)
    assert any_store.count_events_after("notification_failed", first).by_dag == {"etl": 1, "": 1}
    # Nothing new: the same id comes back, so a caller never counts an event twice.
    assert any_store.count_events_after("notification_failed", last) == EventCounts({}, last)
    newer = any_store.record_event("trigger", at=T0, dag_id="etl")
    assert any_store.count_events_after("notification_failed", last) == EventCounts({}, newer)
