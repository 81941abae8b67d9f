"""examples/incremental_load.py against real PostgreSQL: the first run loads every order,
later runs only what changed since the watermark (upserted), bad changes stop the load, and
the variable overrides the watermark. The source data is the example's own seed file, in a
schema of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.exceptions import ParamValidationError
from headwater.hooks.postgres import PostgresHook
from headwater.hooks.sql_statements import split_statements
from headwater.loading.dagbag import DagBag
from headwater.secrets import Connection, use_metastore
from headwater.store.memory import MemoryStore
from headwater.testing import DagRunResult, assert_dags_load, run_dag

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
SEED = EXAMPLES / "sql" / "seed_orders_source.sql"
FIRST = datetime(2024, 2, 1, tzinfo=UTC)
TASKS = {
    "create_target",
    "find_watermark",
    "check_changes",
    "load_changes",
    "check_target",
    "check_in_sync",
}


@pytest.fixture(scope="module")
def dag() -> Any:
    bag: DagBag = assert_dags_load(EXAMPLES)
    return bag.get_dag("incremental_load")


class Warehouse:
    """The test's schema, its source table seeded from the example's file, and the run
    conf that points the DAG at it."""

    def __init__(self, connection: Connection, schema: str) -> None:
        self.store = MemoryStore()
        self.store.set_connection(connection)
        self.schema = schema
        self.hook = PostgresHook(connection.conn_id, connection=connection)
        self.source = f"{schema}.example_orders"
        self.target = f"{schema}.example_orders_copy"
        self.conf = {
            "conn_id": connection.conn_id,
            "source_table": self.source,
            "target_table": self.target,
            "commit_every": 2,  # several batches even for a handful of rows
        }
        self.runs = 0
        seed = split_statements(SEED.read_text())
        self.hook.run([f"SET search_path TO {schema}", *seed])

    def run(self, dag: Any) -> DagRunResult:
        self.runs += 1
        when = FIRST + timedelta(hours=self.runs)
        return run_dag(dag, logical_date=when, conf=self.conf, store=self.store)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self.hook.get_records(
            f"SELECT order_id, customer, amount, status, updated_at FROM {table} ORDER BY order_id"
        )


@pytest.fixture
def warehouse(pg_schema: tuple[Connection, str]) -> Warehouse:
    return Warehouse(*pg_schema)


def _error(result: DagRunResult, task_id: str) -> str:
    return result.attempts(task_id)[-1].error or ""


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_first_run_loads_every_order(dag: Any, warehouse: Warehouse) -> None:
    result = warehouse.run(dag)

    assert result.succeeded, {t: _error(result, t) for t in TASKS if result.attempts(t)}
    assert set(result.task_states) == TASKS
    assert set(result.task_states.values()) == {"success"}
    assert (
        f"CREATE TABLE IF NOT EXISTS {warehouse.target} ("
        in result.rendered("create_target")["sql"]
    )
    assert result.xcom("find_watermark") == "-infinity"
    load = result.xcom("load_changes")
    assert load["rows_loaded"] == 5
    assert _at(load["until"]) == datetime(2024, 1, 31, 9, 10, tzinfo=UTC)
    assert warehouse.rows(warehouse.target) == warehouse.rows(warehouse.source)
    assert result.xcom("check_target") == {
        "row_count_check": {"result": 5, "success": True},
        "amounts_not_negative": {"result": 1, "success": True},
        "statuses_known": {"result": 1, "success": True},
    }
    assert result.xcom("check_in_sync") == [0]
    assert result.xcom("check_changes")["amount"]["min"] == {"result": 5.25, "success": True}


def test_later_runs_load_only_what_changed_and_upsert_it(dag: Any, warehouse: Warehouse) -> None:
    assert warehouse.run(dag).succeeded
    warehouse.hook.run(
        [
            f"UPDATE {warehouse.source} SET status = 'paid', updated_at = '2024-02-01 10:00+00' "
            "WHERE order_id = 2",
            f"INSERT INTO {warehouse.source} VALUES (6, 'eve', 7.00, 'new', '2024-02-01 10:05+00')",
        ]
    )

    second = warehouse.run(dag)

    assert second.succeeded
    assert _at(second.xcom("find_watermark")) == datetime(2024, 1, 31, 9, 10, tzinfo=UTC)
    assert second.xcom("load_changes")["rows_loaded"] == 2
    assert _at(second.xcom("load_changes")["until"]) == datetime(2024, 2, 1, 10, 5, tzinfo=UTC)
    target = warehouse.rows(warehouse.target)
    assert target == warehouse.rows(warehouse.source)
    assert [r[3] for r in target if r[0] == 2] == ["paid"]
    assert len(target) == 6

    third = warehouse.run(dag)  # nothing changed since

    assert third.succeeded
    assert third.xcom("load_changes")["rows_loaded"] == 0
    assert third.xcom("check_changes")["amount"]["min"] == {"result": 0, "success": True}


def test_a_bad_change_stops_the_load(dag: Any, warehouse: Warehouse) -> None:
    assert warehouse.run(dag).succeeded
    warehouse.hook.run(
        f"INSERT INTO {warehouse.source} VALUES (7, 'fay', -1.50, 'new', '2024-02-02 08:00+00')"
    )

    result = warehouse.run(dag)

    assert not result.succeeded
    assert result.state_of("check_changes") == "failed"
    error = _error(result, "check_changes")
    since = result.xcom("find_watermark")
    assert (
        f"on table {warehouse.source!r} (where updated_at > %(since)s, parameters "
        f"{{'since': {since!r}}}): 1 of 5 failed" in error
    )
    assert "column 'amount' min: got -1.5, expected >= 0" in error
    assert result.state_of("load_changes") == "upstream_failed"
    assert 7 not in [r[0] for r in warehouse.rows(warehouse.target)]


def test_the_variable_overrides_the_watermark(dag: Any, warehouse: Warehouse) -> None:
    warehouse.store.set_variable("incremental_load_watermark", "2024-01-31T00:00:00+00:00")

    result = warehouse.run(dag)

    assert result.xcom("find_watermark") == "2024-01-31T00:00:00+00:00"
    assert result.xcom("load_changes")["rows_loaded"] == 2  # orders 4 and 5
    assert [r[0] for r in warehouse.rows(warehouse.target)] == [4, 5]
    # Orders 1 to 3 were skipped on purpose; the sync check sees it and says so.
    assert result.state_of("check_target") == "success"
    assert result.state_of("check_in_sync") == "failed"
    assert "column 1 ('count') is 3, expected equal to 0" in _error(result, "check_in_sync")


def test_a_table_name_that_is_not_one_is_refused(dag: Any) -> None:
    with pytest.raises(ParamValidationError, match="param 'target_table'"):
        run_dag(dag, logical_date=FIRST, conf={"target_table": "orders; DROP TABLE orders"})


def test_the_readme_command_runs_it_with_the_connection_in_the_environment(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    pytest.importorskip(
        "headwater.secrets.environment",
        reason="HEADWATER_CONN_<ID> needs the environment secrets backend (issue 11, secrets backends)",
    )
    connection = warehouse.hook.connection
    uri = f"postgresql://{connection.login}@{connection.host}:{connection.port}/{connection.schema}"
    conf = dict(warehouse.conf, conn_id="example_postgres")
    env = {**os.environ, "HEADWATER_CONN_EXAMPLE_POSTGRES": uri, "COLUMNS": "200"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater",
            "dags",
            "test",
            "incremental_load",
            "--folder",
            "examples",
            "--conf",
            json.dumps(conf),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Loaded 5 changed row(s)" in proc.stdout
    with use_metastore(warehouse.store):
        assert warehouse.rows(warehouse.target) == warehouse.rows(warehouse.source)
