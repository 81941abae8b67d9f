"""Copy new and changed orders from a PostgreSQL source table into a target table, a few at
a time: each run loads only the rows changed since the last one (the watermark).

::

    create_target -> find_watermark -> check_changes -> load_changes -> check_target
    (.sql file:       (newest updated_at  (column checks    (upsert in       -> check_in_sync
     CREATE TABLE      already loaded, or  on the rows to    batches, by      (table and value
     IF NOT EXISTS)    a variable)         load)             order_id)         checks)

It shows:

* SQL operators on a connection (``example_postgres``, a param): ``SQLExecuteQueryOperator``
  running a ``.sql`` template file from ``examples/sql/``;
* a watermark: the newest ``updated_at`` the target already holds (so it comes from the
  previous runs, and survives a failed one), unless the variable
  ``incremental_load_watermark`` overrides it (to reload from a date);
* data-quality gates: ``SQLColumnCheckOperator`` on the rows about to be loaded (no load when
  they fail), ``SQLTableCheckOperator`` and ``SQLValueCheckOperator`` on the result;
* an upsert with ``PostgresHook.insert_rows(replace=True, replace_index="order_id")``, fed
  by a server-side cursor so memory holds one batch, whatever the number of changes.

Needs PostgreSQL: see examples/README.md for the connection and the source data. Try it::

    psql -h 127.0.0.1 -U postgres test -f examples/sql/seed_orders_source.sql
    HEADWATER_CONN_EXAMPLE_POSTGRES=postgresql://postgres@127.0.0.1:5432/test \\
        headwater dags test incremental_load --folder examples
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater import DAG, Param, task
from headwater.hooks.postgres import PostgresHook
from headwater.operators.sql import SQLExecuteQueryOperator
from headwater.operators.sql_checks import (
    SQLColumnCheckOperator,
    SQLTableCheckOperator,
    SQLValueCheckOperator,
)
from headwater.secrets import VariableNotFoundError, get_variable

HERE = Path(__file__).resolve().parent
WATERMARK_VARIABLE = "incremental_load_watermark"
NO_WATERMARK = "-infinity"  # PostgreSQL's timestamp before every other: load everything
COLUMNS = ["order_id", "customer", "amount", "status", "updated_at", "loaded_at"]
TABLE_NAME = r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$"  # table or schema.table

with DAG(
    "incremental_load",
    schedule="@hourly",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    is_paused_upon_creation=True,  # needs PostgreSQL and its connection: unpause by hand
    tags=["example", "sql"],
    template_searchpath=[str(HERE / "sql")],
    params={
        "conn_id": Param("example_postgres", type="string", minLength=1),
        "source_table": Param("example_orders", type="string", pattern=TABLE_NAME),
        "target_table": Param("example_orders_copy", type="string", pattern=TABLE_NAME),
        "commit_every": Param(1000, type="integer", minimum=1, maximum=100_000),
    },
    doc_md=__doc__,
) as dag:
    create_target = SQLExecuteQueryOperator(
        task_id="create_target",
        conn_id="{{ params.conn_id }}",
        sql="create_orders_target.sql",  # read from examples/sql/ and rendered
    )

    @task
    def find_watermark(params: dict[str, Any]) -> str:
        """The newest ``updated_at`` already loaded, or the override variable."""
        try:
            override = get_variable(WATERMARK_VARIABLE)
        except VariableNotFoundError:
            override = None
        if override:
            print(f"Watermark from the variable {WATERMARK_VARIABLE}: {override}")
            return override
        hook = PostgresHook(params["conn_id"])
        target = hook.quote_table(params["target_table"])
        newest = hook.get_first(f"SELECT MAX(updated_at) FROM {target}")
        watermark = newest[0].isoformat() if newest and newest[0] else NO_WATERMARK
        print(f"Watermark from {params['target_table']}: {watermark}")
        return watermark

    watermark = find_watermark()

    check_changes = SQLColumnCheckOperator(
        task_id="check_changes",
        conn_id="{{ params.conn_id }}",
        table="{{ params.source_table }}",
        partition_clause="updated_at > %(since)s",
        parameters={"since": watermark},
        column_mapping={
            "order_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "customer": {"null_check": {"equal_to": 0}},
            "amount": {"null_check": {"equal_to": 0}, "min": {"geq_to": 0}},
        },
        accept_none=True,  # no change since the watermark: MIN(amount) is NULL, and fine
    )

    @task
    def load_changes(since: str, params: dict[str, Any]) -> dict[str, Any]:
        """Upsert every source row changed after ``since`` into the target."""
        source = PostgresHook(params["conn_id"])
        target = PostgresHook(params["conn_id"])
        source_table = source.quote_table(params["source_table"])
        loaded_at = datetime.now(UTC)
        newest: list[datetime] = []

        def changed_rows() -> Any:
            # A named (server-side) cursor streams the rows: insert_rows holds one batch.
            with closing(source.get_conn()) as conn, conn.cursor(name="changed_orders") as cur:
                cur.execute(
                    "SELECT order_id, customer, amount, status, updated_at "
                    f"FROM {source_table} WHERE updated_at > %s ORDER BY updated_at, order_id",
                    [since],
                )
                for row in cur:
                    newest[:] = [row[4]]
                    yield (*row, loaded_at)

        count = target.insert_rows(
            params["target_table"],
            changed_rows(),
            COLUMNS,
            commit_every=params["commit_every"],
            replace=True,
            replace_index="order_id",
        )
        print(f"Loaded {count} changed row(s) into {params['target_table']}")
        return {
            "rows_loaded": count,
            "since": since,
            "until": newest[0].isoformat() if newest else since,
        }

    check_target = SQLTableCheckOperator(
        task_id="check_target",
        conn_id="{{ params.conn_id }}",
        table="{{ params.target_table }}",
        checks={
            "row_count_check": {"geq_to": 1},
            "amounts_not_negative": {"check_statement": "MIN(amount) >= 0"},
            "statuses_known": {
                "check_statement": "SUM(CASE WHEN status IN "
                "('new', 'paid', 'shipped', 'cancelled') THEN 0 ELSE 1 END) = 0"
            },
        },
    )

    check_in_sync = SQLValueCheckOperator(
        task_id="check_in_sync",
        conn_id="{{ params.conn_id }}",
        # Source orders missing from the target, or older there: none once the load is done.
        sql="SELECT COUNT(*) FROM {{ params.source_table }} s "
        "LEFT JOIN {{ params.target_table }} t ON t.order_id = s.order_id "
        "WHERE t.updated_at IS DISTINCT FROM s.updated_at",
        pass_value=0,
    )

    loaded = load_changes(watermark)
    create_target >> watermark
    check_changes >> loaded >> [check_target, check_in_sync]
