"""Airflow-style DAG: asset events as Airflow users write them: Metadata yielded by a
generator task, events read back through inlet_events (by asset, alias, index, for_asset and
for_asset_alias, and in a template), and an @asset function taking self, context and an
upstream asset by name."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, AssetAlias, Metadata, asset, task

ORDERS = Asset(uri="s3://shop/orders.csv", name="orders")
DAILY = AssetAlias("daily-files")

with DAG(
    dag_id="assets_events",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
):

    @task(outlets=[ORDERS])
    def write_orders():
        yield Metadata(ORDERS, {"rows": 3})
        yield "not metadata"  # logged and dropped, as Airflow does
        yield Metadata(ORDERS, {"source": "pos"})

    @task(outlets=[DAILY])
    def write_daily(*, outlet_events=None):
        outlet_events[DAILY].add(Asset("s3://shop/2024-01-01.csv"), extra={"day": 1})

    @task(inlets=[ORDERS, DAILY])
    def read_events(*, inlet_events=None):
        print(f"by asset: {[e.extra for e in inlet_events[ORDERS]]}")
        print(f"by index: {len(inlet_events[0])}")
        print(f"by alias: {[(e.uri, e.extra) for e in inlet_events[DAILY]]}")
        print(f"for_asset: {inlet_events.for_asset(name='orders')[-1].extra['rows']}")
        print(f"for_asset_alias: {len(inlet_events.for_asset_alias(name='daily-files'))}")
        print(f"unknown alias: {inlet_events.for_asset_alias(name='nothing-yet')}")

    templated = BashOperator(
        task_id="templated",
        inlets=[ORDERS],
        bash_command="echo \"last={{ inlet_events.for_asset(uri='s3://shop/orders.csv')[-1].extra | tojson }}\"",
    )

    [write_orders(), write_daily()] >> read_events() >> templated

with DAG(
    dag_id="assets_events_consumer",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=[DAILY],
    catchup=False,
):

    @task(inlets=[DAILY])
    def consume(*, inlet_events=None):
        print(f"alias events: {list(inlet_events[DAILY])}")

    consume()


@asset(uri="s3://shop/prices.csv", schedule=None)
def prices():
    return None


@asset(uri="s3://shop/report.csv", schedule=None)
def report(self, context, prices):
    print(f"self={self.uri} upstream={prices.uri}")
    print(f"inlet events of prices: {context['inlet_events'][prices]}")
