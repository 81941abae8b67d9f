"""Airflow 3.3's task and asset state stores (AIP-103), as an Airflow user writes them: a job
id stored by a first try that fails and read back by the retry, mapped instances each with
their own state, an async task, and a watermark kept on an asset."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, task
from airflow.sdk.execution_time.context import NEVER_EXPIRE

ORDERS = Asset(name="orders/daily", uri="s3://warehouse/orders/daily")

with DAG(
    dag_id="state_store",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["state-store"],
):

    @task(retries=2, retry_delay=timedelta(seconds=0))
    def run_job(task_state_store=None, ti=None):
        job_id = task_state_store.get("job_id")
        if job_id:
            print(f"Try {ti.try_number}: reattaching to existing job: {job_id}")
        else:
            job_id = "job-0001"
            task_state_store.set("job_id", job_id, retention=NEVER_EXPIRE)
            task_state_store.set("attempts", {"submitted_on_try": ti.try_number})
            print(f"Try {ti.try_number}: submitted job: {job_id}")
            raise RuntimeError(f"Simulated failure after submitting {job_id}")
        task_state_store.set("status", "complete", retention=timedelta(hours=1))
        print(f"stored attempts={task_state_store.get('attempts')}")
        print(f"status={task_state_store.get('status')} missing={task_state_store.get('x', 7)}")
        return job_id

    @task
    def process_table(table: str, task_state_store=None, ti=None):
        assert task_state_store.get("status") is None, "each mapped instance starts empty"
        task_state_store.set("status", f"done:{table}:{ti.map_index}")
        return task_state_store.get("status")

    @task
    async def ingest_pages(task_state_store=None):
        progress = await task_state_store.aget("progress", default={"done": [], "rows": 0})
        progress = {"done": [*progress["done"], 1, 2], "rows": progress["rows"] + 20}
        await task_state_store.aset("progress", progress, retention=NEVER_EXPIRE)
        print(f"async progress={await task_state_store.aget('progress')}")
        await task_state_store.adelete("progress")
        print(f"after delete={await task_state_store.aget('progress', default='gone')}")

    @task(outlets=[ORDERS])
    def load(asset_state_store=None):
        state = asset_state_store[ORDERS]
        watermark = state.get("watermark", default="2026-01-01T00:00:00+00:00")
        state.set("watermark", "2026-02-01T00:00:00+00:00")
        state.set("total_runs", state.get("total_runs", default=0) + 1)
        print(f"previous watermark={watermark}")

    @task(inlets=[ORDERS])
    def consume(asset_state_store=None):
        print(
            f"consumer sees watermark={asset_state_store.get('watermark')} "
            f"runs={asset_state_store[ORDERS].get('total_runs')}"
        )

    run_job()
    process_table.expand(table=["orders", "customers"])
    ingest_pages()
    load() >> consume()
