"""The events of a DAG run, posted to a real OpenLineage receiver on 127.0.0.1: their order,
job names, parent run, nominal time, datasets and error messages, each valid against the
OpenLineage run event schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lineage_receiver import LineageReceiver, with_lineage

from headwater import DAG, Asset
from headwater.lineage.emitter import close_emitters
from headwater.operators import PythonOperator
from headwater.settings import Settings
from headwater.testing import run_dag

START = datetime(2024, 3, 1, tzinfo=UTC)


def _etl_dag(fail: bool = False) -> DAG:
    def load() -> None:
        if fail:
            raise ValueError("the orders file is empty")

    with DAG("etl", start_date=START, schedule="@daily", description="Daily orders") as dag:
        extract = PythonOperator(
            task_id="extract",
            python_callable=lambda: 1,
            inlets=[Asset("s3://raw-bucket/orders/2024.csv")],
            outlets=[Asset("file:///data/orders.parquet")],
        )
        loaded = PythonOperator(
            task_id="load",
            python_callable=load,
            inlets=[Asset("file:///data/orders.parquet")],
            outlets=[Asset("postgres://warehouse:5432/analytics/public/orders")],
        )
        extract >> loaded
    return dag


def _run(dag: DAG, settings: Settings, receiver: LineageReceiver, **lineage: str) -> str:
    sending = with_lineage(settings, transport="http", url=receiver.url, **lineage)
    result = run_dag(dag, logical_date=START, settings=sending)
    close_emitters(timeout_s=5)  # what the process does at exit: everything is sent
    return result.run.state.value


def test_a_run_and_its_tasks_emit_start_and_complete_in_order(
    settings: Settings, receiver: LineageReceiver
) -> None:
    assert _run(_etl_dag(), settings, receiver, namespace="prod", api_key="k-123") == "success"

    assert receiver.invalid == []
    order = [(e["job"]["name"], e["eventType"]) for e in receiver.events]
    assert order == [
        ("etl", "START"),
        ("etl.extract", "START"),
        ("etl.extract", "COMPLETE"),
        ("etl.load", "START"),
        ("etl.load", "COMPLETE"),
        ("etl", "COMPLETE"),
    ]
    assert {e["job"]["namespace"] for e in receiver.events} == {"prod"}
    assert {h["authorization"] for h in receiver.headers} == {"Bearer k-123"}

    dag_start, extract_start, extract_end, load_start, _, dag_end = receiver.events
    dag_run_id = dag_start["run"]["runId"]
    assert dag_end["run"]["runId"] == dag_run_id
    assert extract_start["run"]["runId"] == extract_end["run"]["runId"] != dag_run_id
    assert load_start["run"]["runId"] != extract_start["run"]["runId"]
    parent = extract_start["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == dag_run_id
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("prod", "etl")
    assert parent["root"]["run"]["runId"] == dag_run_id

    nominal = dag_start["run"]["facets"]["nominalTime"]
    assert datetime.fromisoformat(nominal["nominalStartTime"]) == START
    assert datetime.fromisoformat(nominal["nominalEndTime"]) == datetime(2024, 3, 2, tzinfo=UTC)
    assert extract_end["run"]["facets"]["nominalTime"] == nominal

    job_type = extract_start["job"]["facets"]["jobType"]
    assert (job_type["processingType"], job_type["integration"], job_type["jobType"]) == (
        "BATCH",
        "HEADWATER",
        "TASK",
    )
    assert dag_start["job"]["facets"]["jobType"]["jobType"] == "DAG"
    assert dag_start["job"]["facets"]["documentation"]["description"] == "Daily orders"
    assert "errorMessage" not in dag_end["run"]["facets"]

    def datasets(event: dict[str, object], side: str) -> list[tuple[str, str]]:
        return [(d["namespace"], d["name"]) for d in event[side]]  # type: ignore[attr-defined]

    assert datasets(extract_start, "inputs") == [("s3://raw-bucket", "orders/2024.csv")]
    assert datasets(extract_end, "outputs") == [("file", "/data/orders.parquet")]
    assert datasets(load_start, "inputs") == [("file", "/data/orders.parquet")]
    assert datasets(load_start, "outputs") == [
        ("postgres://warehouse:5432", "analytics.public.orders")
    ]


def test_a_failed_task_and_its_run_emit_fail_with_the_error(
    settings: Settings, receiver: LineageReceiver
) -> None:
    assert _run(_etl_dag(fail=True), settings, receiver) == "failed"

    assert receiver.invalid == []
    load_end = receiver.of_job("etl.load")[-1]
    assert load_end["eventType"] == "FAIL"
    error = load_end["run"]["facets"]["errorMessage"]
    assert error["message"] == "ValueError: the orders file is empty"
    assert error["programmingLanguage"] == "python"
    dag_end = receiver.of_job("etl")[-1]
    assert dag_end["eventType"] == "FAIL"
    assert "failed tasks load" in dag_end["run"]["facets"]["errorMessage"]["message"]


def test_each_try_of_a_task_is_a_run_of_its_own(
    settings: Settings, receiver: LineageReceiver
) -> None:
    from datetime import timedelta

    from headwater.clock import FakeClock

    tries = []

    def flaky() -> None:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("first try fails")

    with DAG("retrying", start_date=START) as dag:
        PythonOperator(
            task_id="flaky", python_callable=flaky, retries=1, retry_delay=timedelta(seconds=5)
        )
    sending = with_lineage(settings, transport="http", url=receiver.url)
    run_dag(dag, logical_date=START, settings=sending, clock=FakeClock(START))
    close_emitters(timeout_s=5)

    events = receiver.of_job("retrying.flaky")
    assert [e["eventType"] for e in events] == ["START", "FAIL", "START", "COMPLETE"]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    assert events[2]["run"]["runId"] == events[3]["run"]["runId"] != events[0]["run"]["runId"]


@pytest.mark.parametrize("transport", ["none"])
def test_off_by_default_nothing_is_sent(
    settings: Settings, receiver: LineageReceiver, transport: str
) -> None:
    assert settings.lineage.transport == "none"
    run_dag(_etl_dag(), logical_date=START, settings=with_lineage(settings, url=receiver.url))
    close_emitters(timeout_s=5)
    assert receiver.events == []
