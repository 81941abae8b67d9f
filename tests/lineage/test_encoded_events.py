"""A task attempt's event is JSON text joined from parts encoded once per run and per DAG:
each run keeps its own nominal time and parent however many runs a process sees, and text
that needs escaping (descriptions, errors, dataset names) comes out as the same values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater import DAG
from headwater.engine.records import DagRun
from headwater.lineage.events import Datasets, EncodedEvent, task_attempt_event
from headwater.lineage.run_ids import dag_run_uuid, task_attempt_uuid
from headwater.operators import EmptyOperator

START = datetime(2024, 3, 1, tzinfo=UTC)


def _event(dag: DAG, run: DagRun, **more: Any) -> Any:
    event = task_attempt_event(
        more.pop("event_type", "START"),
        namespace=more.pop("namespace", "prod"),
        dag=dag,
        run=run,
        task_id="load",
        map_index=-1,
        try_number=1,
        now=START + timedelta(hours=5),
        **more,
    )
    assert isinstance(event, EncodedEvent)
    parsed = json.loads(event.text)
    assert parsed == event.as_dict()
    return parsed


def _run(run_id: str, day: int) -> DagRun:
    start = START + timedelta(days=day)
    return DagRun("etl", run_id, start, start, start + timedelta(days=1))


def test_each_run_keeps_its_own_nominal_time_and_parent() -> None:
    with DAG("etl", start_date=START) as dag:
        EmptyOperator(task_id="load")
    runs = [_run(f"scheduled__{day}", day) for day in range(3)] * 2  # seen again: cached
    for run in runs:
        event = _event(dag, run)
        facets = event["run"]["facets"]
        assert facets["nominalTime"]["nominalStartTime"] == run.data_interval_start.isoformat()
        assert facets["nominalTime"]["nominalEndTime"] == run.data_interval_end.isoformat()
        parent = dag_run_uuid("prod", "etl", run.run_id, run.logical_date)
        assert facets["parent"]["run"]["runId"] == parent
        assert facets["parent"]["root"]["run"]["runId"] == parent
        assert event["run"]["runId"] == task_attempt_uuid(
            "prod", "etl", run.run_id, "load", -1, 1, run.logical_date
        )
    # The same run id with other dates (a run cleared away and made again) is not confused.
    moved = _run("scheduled__0", 9)
    facets = _event(dag, moved)["run"]["facets"]
    assert facets["nominalTime"]["nominalStartTime"] == moved.data_interval_start.isoformat()


def test_text_that_needs_escaping_comes_out_as_the_same_values() -> None:
    description = 'Loads "orders" \\ from C:\\data\nThe naïve way: 100 % ☃'
    with DAG("etl", start_date=START, description=description) as dag:
        EmptyOperator(task_id="load")
    error = 'KeyError: "id"\n\ttraceback line \x1b[31m'
    datasets = Datasets((("s3://bucket", 'dir/"quoted" name.csv'),), (("file", "/tmp/ü.json"),))
    event = _event(
        dag,
        _run("manual__1", 0),
        event_type="FAIL",
        namespace='team "a"',
        datasets=datasets,
        error=error,
        sql=("SELECT '\"x\"'", "postgres"),
    )
    assert event["eventType"] == "FAIL"
    assert event["job"] == {
        "namespace": 'team "a"',
        "name": "etl.load",
        "facets": event["job"]["facets"],
    }
    facets = event["job"]["facets"]
    assert facets["documentation"]["description"] == description
    assert facets["sql"]["query"] == "SELECT '\"x\"'"
    assert facets["jobType"]["jobType"] == "TASK"
    assert event["run"]["facets"]["errorMessage"]["message"] == error
    assert event["inputs"] == [{"namespace": "s3://bucket", "name": 'dir/"quoted" name.csv'}]
    assert event["outputs"] == [{"namespace": "file", "name": "/tmp/ü.json"}]
