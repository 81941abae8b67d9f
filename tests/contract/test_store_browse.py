"""The browsing reads of :class:`~headwater.store.ports.BrowseQueries` (what the REST API and
the web UI list): MemoryStore and SqlStore (SQLite, PostgreSQL) answer alike, order, filters,
totals and edge cases included."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0, make_run
from headwater.db.rows import DagRow, RunSummaryRow
from headwater.engine.states import DagRunState
from headwater.store.ports import Store

R = DagRunState


def test_dag_headers_are_the_dags_without_their_structure(any_store: Store) -> None:
    serialized = {"version": 1, "dag": {"dag_id": "etl", "tasks": []}}
    any_store.upsert_dag(
        DagRow(
            "etl",
            fileloc="/dags/etl.py",
            serialized=serialized,
            description="loads",
            schedule="@daily",
            tags=["team-a"],
        )
    )
    any_store.upsert_dag(DagRow("bare"))
    any_store.upsert_dag(DagRow("gone", fileloc="/dags/gone.py"))
    any_store.deactivate_dags(["gone"])
    any_store.set_next_dagrun("etl", T0, T0 - timedelta(days=1), T0, T0)
    headers = any_store.list_dag_headers()
    assert [h.dag_id for h in headers] == ["bare", "etl"]
    etl = headers[1]
    assert etl.serialized is None
    assert (etl.fileloc, etl.description, etl.schedule, etl.tags) == (
        "/dags/etl.py",
        "loads",
        "@daily",
        ["team-a"],
    )
    assert etl.next_dagrun_logical_date == T0
    assert headers[0].tags == []
    assert [h.dag_id for h in any_store.list_dag_headers(include_inactive=True)] == [
        "bare",
        "etl",
        "gone",
    ]
    stored = any_store.get_dag("etl")
    assert stored is not None and stored.serialized == serialized


def _runs(store: Store) -> None:
    for day in range(6):
        state = R.FAILED if day % 2 else R.SUCCESS
        run_type = "manual" if day == 5 else "scheduled"
        store.create_dag_run(
            make_run(run_id=f"d{day}", day=day, state=state, run_type=run_type), []
        )
    # two runs on one logical date: the run id breaks the tie
    store.create_dag_run(make_run(run_id="d5b", day=5, state=R.QUEUED, run_type="scheduled"), [])
    store.create_dag_run(make_run(dag_id="other", run_id="o1"), [])


def test_a_page_of_runs_is_newest_first_with_the_total(any_store: Store) -> None:
    _runs(any_store)
    runs, total = any_store.page_dag_runs("etl", limit=3)
    assert [r.run_id for r in runs] == ["d5b", "d5", "d4"] and total == 7
    runs, total = any_store.page_dag_runs("etl", limit=3, offset=6)
    assert [r.run_id for r in runs] == ["d0"] and total == 7
    assert runs[0].state is R.SUCCESS
    assert any_store.page_dag_runs("etl", offset=10) == ([], 7)
    assert any_store.page_dag_runs("missing") == ([], 0)


def test_a_page_of_runs_filters_by_state_type_and_dates(any_store: Store) -> None:
    _runs(any_store)
    failed, total = any_store.page_dag_runs("etl", states=["failed"])
    assert [r.run_id for r in failed] == ["d5", "d3", "d1"] and total == 3
    either, _ = any_store.page_dag_runs("etl", states=[R.QUEUED, R.SUCCESS], limit=2)
    assert [r.run_id for r in either] == ["d5b", "d4"]
    manual, _ = any_store.page_dag_runs("etl", run_types=["manual"])
    assert [r.run_id for r in manual] == ["d5"]
    ranged, total = any_store.page_dag_runs(
        "etl", start=T0 + timedelta(days=1), end=T0 + timedelta(days=3)
    )
    assert [r.run_id for r in ranged] == ["d3", "d2", "d1"] and total == 3
    assert any_store.page_dag_runs("etl", states=[]) == ([], 0)


def test_latest_runs_of_many_dags_at_once(any_store: Store) -> None:
    _runs(any_store)
    latest = any_store.latest_dag_runs(["etl", "other", "none"], 3)
    assert [r.run_id for r in latest["etl"]] == ["d4", "d5", "d5b"]
    assert latest["etl"][2] == RunSummaryRow(
        "etl", "d5b", "queued", "scheduled", T0 + timedelta(days=5)
    )
    assert [r.state for r in latest["etl"]] == ["success", "failed", "queued"]
    assert [r.run_id for r in latest["other"]] == ["o1"]
    assert latest["none"] == []
    assert any_store.latest_dag_runs(["etl"], 0) == {"etl": []}
    assert any_store.latest_dag_runs([], 5) == {}
    many = [f"dag{i}" for i in range(450)] + ["etl"]  # more than one statement's worth
    assert [r.run_id for r in any_store.latest_dag_runs(many, 1)["etl"]] == ["d5b"]
