"""A SQL task reports the tables its SQL reads and writes, parsed with openlineage-sql, named
within its connection's namespace: on a real SQLite file and on the real PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lineage_receiver import LineageReceiver, with_lineage
from sqlalchemy.engine import make_url

from headwater import DAG
from headwater.lineage.emitter import close_emitters
from headwater.operators import SQLExecuteQueryOperator
from headwater.secrets import Connection
from headwater.settings import Settings
from headwater.testing import run_dag

pytest.importorskip("openlineage_sql")

START = datetime(2024, 3, 1, tzinfo=UTC)

TOTALS_SQL = """
INSERT INTO {schema}daily_totals (store, total)
SELECT o.store, SUM(o.amount) FROM {schema}orders o JOIN {schema}stores s ON s.id = o.store
GROUP BY o.store
"""


def _totals_dag(schema: str = "") -> DAG:
    with DAG("totals", start_date=START) as dag:
        SQLExecuteQueryOperator(
            task_id="sum_orders", conn_id="shop", sql=TOTALS_SQL.format(schema=schema)
        )
    return dag


def _datasets(event: dict[str, list[dict[str, str]]], side: str) -> list[tuple[str, str]]:
    return sorted((d["namespace"], d["name"]) for d in event[side])


def test_an_insert_select_on_sqlite_reports_its_input_and_output_tables(
    settings: Settings, receiver: LineageReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE orders (store INTEGER, amount REAL);"
            "CREATE TABLE stores (id INTEGER);"
            "CREATE TABLE daily_totals (store INTEGER, total REAL);"
            "INSERT INTO stores VALUES (1); INSERT INTO orders VALUES (1, 2.5);"
        )
    db.close()
    shop = Connection(conn_id="shop", conn_type="sqlite", host=str(path))
    sending = with_lineage(settings, transport="http", url=receiver.url)

    result = run_dag(_totals_dag(), settings=sending, connections={"shop": shop})
    close_emitters(timeout_s=5)

    assert result.run.state.value == "success"
    assert receiver.invalid == []
    start, end = receiver.of_job("totals.sum_orders")
    assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
    namespace = f"sqlite://{path}"
    assert _datasets(end, "inputs") == [(namespace, "orders"), (namespace, "stores")]
    assert _datasets(end, "outputs") == [(namespace, "daily_totals")]
    sql = end["job"]["facets"]["sql"]
    assert sql["query"].startswith("INSERT INTO daily_totals (store, total)")
    assert sql["dialect"] == "sqlite"


@pytest.fixture
def pg_schema(postgres_admin_url: str) -> Iterator[tuple[Connection, str]]:
    """A schema of the test's own in the real PostgreSQL, and a connection to its database."""
    import psycopg

    url = make_url(postgres_admin_url)
    schema = f"lineage_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.orders (store int, amount numeric)")
        conn.execute(f"CREATE TABLE {schema}.stores (id int)")
        conn.execute(f"CREATE TABLE {schema}.daily_totals (store int, total numeric)")
    connection = Connection(
        conn_id="shop",
        conn_type="postgres",
        host=url.host,
        port=url.port or 5432,
        login=url.username,
        schema=url.database,
    )
    yield connection, schema
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_an_insert_select_on_postgresql_names_tables_by_database_and_schema(
    settings: Settings, receiver: LineageReceiver, pg_schema: tuple[Connection, str]
) -> None:
    connection, schema = pg_schema
    sending = with_lineage(settings, transport="http", url=receiver.url)

    result = run_dag(_totals_dag(f"{schema}."), settings=sending, connections={"shop": connection})
    close_emitters(timeout_s=5)

    assert result.run.state.value == "success"
    end = receiver.of_job("totals.sum_orders")[-1]
    namespace = f"postgres://{connection.host}:{connection.port}"
    database = connection.schema
    assert _datasets(end, "inputs") == [
        (namespace, f"{database}.{schema}.orders"),
        (namespace, f"{database}.{schema}.stores"),
    ]
    assert _datasets(end, "outputs") == [(namespace, f"{database}.{schema}.daily_totals")]
