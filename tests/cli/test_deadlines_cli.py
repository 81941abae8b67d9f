"""``headwater dags deadlines``: the missed deadlines and SLAs, as a table and as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

from db_records import T0, make_run
from headwater.store.deadlines import DEADLINE, SLA, DeadlinePlan
from headwater.store.sql import SqlStore
from stored_dags import invoke


def _misses(store: SqlStore) -> None:
    for dag_id in ("etl", "flaky"):
        store.create_dag_run(make_run(dag_id=dag_id, run_id="r1"), [])
    store.plan_deadlines(
        [
            DeadlinePlan("etl", "r1", "two_hours", DEADLINE, T0),
            DeadlinePlan("flaky", "r1", SLA, SLA, T0, task_id="boom"),
        ],
        T0,
    )
    for i, row in enumerate(store.due_deadlines(T0)):
        reason = "the run is not finished (running)" if row.dag_id == "etl" else "task boom late"
        store.record_deadline_miss(row.id, T0 + timedelta(hours=i + 1), reason, has_callback=False)


def test_deadlines_lists_the_misses_latest_first(store: SqlStore) -> None:
    _misses(store)
    result = invoke("dags", "deadlines", "-o", "json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["total"] == 2
    assert [(m["dag_id"], m["task_id"], m["name"]) for m in page["items"]] == [
        ("flaky", "boom", "sla"),
        ("etl", None, "two_hours"),
    ]
    text = invoke("dags", "deadlines").stdout
    assert "Missed deadlines (1-2 of 2)" in text
    assert "the run is not finished (running)" in text and "task boom late" in text


def test_deadlines_of_one_dag_and_of_an_unknown_dag(store: SqlStore) -> None:
    _misses(store)
    page = json.loads(invoke("dags", "deadlines", "etl", "--output", "json").stdout)
    assert [m["dag_id"] for m in page["items"]] == ["etl"]
    assert "No missed deadlines of DAG partly." in invoke("dags", "deadlines", "partly").stdout
    missing = invoke("dags", "deadlines", "nope")
    assert missing.exit_code == 1 and "no DAG 'nope'" in missing.output


def test_deadlines_help_says_what_it_shows() -> None:
    result = invoke("dags", "deadlines", "--help")
    assert result.exit_code == 0
    assert "missed deadlines and SLAs" in result.stdout and "--output" in result.stdout
