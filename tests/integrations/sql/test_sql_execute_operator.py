"""SQLExecuteQueryOperator run as a task (``run_dag``) on real databases: templated SQL and
``.sql`` files, rows as JSON in XCom, several statements, and the errors people will meet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sql_databases import SqlDb

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.operators.sql import SQLExecuteQueryOperator, to_json_value
from headwater.testing import run_dag, run_task

DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _dag(**kwargs: object) -> DAG:
    return DAG("sql_dag", start_date=DAY, schedule=None, **kwargs)  # type: ignore[arg-type]


def _error(result: object, task_id: str) -> str:
    return result.attempts(task_id)[-1].error or ""  # type: ignore[attr-defined]


def test_rows_are_pushed_as_json_lists(db: SqlDb) -> None:
    table = db.table("sales")
    db.hook().run(
        f"CREATE TABLE {table} (day DATE, store VARCHAR(9), amount NUMERIC(10, 2), n INTEGER)"
    )
    p = db.hook().placeholder
    db.hook().run(
        [
            f"INSERT INTO {table} VALUES ('2024-01-30', 'lyon', 12.5, 1)",
            f"INSERT INTO {table} VALUES ('2024-01-31', 'lyon', 10.25, 2)",
            f"INSERT INTO {table} VALUES ('2024-01-31', 'porto', 3, 5)",
        ]
    )
    with _dag() as dag:
        SQLExecuteQueryOperator(
            task_id="totals",
            conn_id=db.conn_id,
            sql=f"SELECT day, store, amount, n FROM {table} WHERE day = {p} ORDER BY store",
            parameters=["{{ ds }}"],
        )

    result = run_dag(dag, logical_date=DAY, store=db.store)

    assert result.succeeded, _error(result, "totals")
    rows = result.xcom("totals")
    assert rows == [["2024-01-31", "lyon", 10.25, 2], ["2024-01-31", "porto", 3, 5]]
    json.dumps(rows)  # plain JSON, nothing tagged
    assert result.rendered("totals")["parameters"] == ["2024-01-31"]


def test_a_sql_file_is_read_and_rendered(lite: SqlDb, tmp_path: Path) -> None:
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "report.sql").write_text(
        "CREATE TABLE {{ params.table }} (day TEXT, label TEXT);\n"
        "INSERT INTO {{ params.table }} VALUES ('{{ ds }}', 'run {{ run_id }}');\n"
        "SELECT day, label FROM {{ params.table }};\n"
    )
    with _dag(template_searchpath=[str(folder)], params={"table": "report"}) as dag:
        SQLExecuteQueryOperator(
            task_id="report", conn_id=lite.conn_id, sql="report.sql", split_statements=True
        )

    result = run_dag(dag, logical_date=DAY, store=lite.store, run_id="manual_1")

    assert result.succeeded, _error(result, "report")
    assert result.xcom("report") == [["2024-01-31", "run manual_1"]]
    assert "CREATE TABLE report (day TEXT, label TEXT);" in result.rendered("report")["sql"]
    assert "Running statement on test_sqlite: SELECT day, label FROM report" in result.log("report")


def test_return_last_false_keeps_each_statements_rows(db: SqlDb) -> None:
    with _dag() as dag:
        SQLExecuteQueryOperator(
            task_id="several",
            conn_id=db.conn_id,
            sql="SELECT 1 AS a; SELECT 'x' AS b, 2 AS c",
            split_statements=True,
            return_last=False,
            show_return_value_in_logs=True,
        )

    result = run_dag(dag, logical_date=DAY, store=db.store)

    assert result.succeeded, _error(result, "several")
    assert result.xcom("several") == [[[1]], [["x", 2]]]
    assert "Result: [[[1]], [['x', 2]]]" in result.log("several")


def test_a_statement_without_rows_pushes_nothing(lite: SqlDb) -> None:
    with _dag() as dag:
        SQLExecuteQueryOperator(task_id="ddl", conn_id=lite.conn_id, sql="CREATE TABLE t (a INT)")

    result = run_dag(dag, logical_date=DAY, store=lite.store)

    assert result.succeeded
    assert result.xcom("ddl") is None
    assert lite.hook().get_records("SELECT name FROM sqlite_master") == [("t",)]


def test_a_result_over_max_rows_fails_the_task(lite: SqlDb) -> None:
    with _dag() as dag:
        SQLExecuteQueryOperator(
            task_id="big",
            conn_id=lite.conn_id,
            sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n",
            max_rows=49,
        )

    result = run_dag(dag, logical_date=DAY, store=lite.store)

    assert result.state_of("big") == "failed"
    assert "the query returned more than max_rows=49 rows" in _error(result, "big")


def test_a_failing_statement_fails_the_task_with_the_database_error(db: SqlDb) -> None:
    with _dag() as dag:
        SQLExecuteQueryOperator(
            task_id="bad", conn_id=db.conn_id, sql="SELECT * FROM no_such_table"
        )

    result = run_dag(dag, logical_date=DAY, store=db.store)

    assert result.state_of("bad") == "failed"
    assert "no_such_table" in _error(result, "bad")


def test_the_connection_id_is_a_template_and_must_exist(lite: SqlDb) -> None:
    with _dag(params={"conn": "missing_conn"}) as dag:
        SQLExecuteQueryOperator(task_id="q", conn_id="{{ params.conn }}", sql="SELECT 1")

    result = run_task(dag, "q", logical_date=DAY, store=lite.store)
    assert "connection 'missing_conn' is not defined" in _error(result, "q")

    next_day = datetime(2024, 2, 1, tzinfo=UTC)
    ok = run_task(dag, "q", logical_date=next_day, store=lite.store, conf={"conn": lite.conn_id})
    assert ok.xcom("q") == [[1]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sql": "  "}, "sql is empty"),
        ({"sql": []}, "sql must be a string or a non-empty list of strings"),
        ({"sql": "SELECT 1", "conn_id": ""}, "conn_id must be a non-empty string"),
        ({"sql": "SELECT 1", "max_rows": 0}, "max_rows must be an int >= 1, got 0"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_defined(
    kwargs: dict[str, object], message: str
) -> None:
    arguments = {"conn_id": "x", **kwargs}
    with _dag(), pytest.raises(DagDefinitionError, match=message):
        SQLExecuteQueryOperator(task_id="q", **arguments)  # type: ignore[arg-type]


def test_values_become_json() -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    assert to_json_value(Decimal("12.00")) == 12
    assert to_json_value(Decimal("12.25")) == 12.25
    assert to_json_value(Decimal("0.1")) == 0.1
    assert (
        to_json_value(Decimal("12345678901234567890.123456789")) == "12345678901234567890.123456789"
    )
    assert to_json_value(Decimal("NaN")) == "NaN"
    assert (
        to_json_value(dt.datetime(2024, 1, 31, 8, 0, tzinfo=dt.UTC)) == "2024-01-31T08:00:00+00:00"
    )
    assert to_json_value(dt.date(2024, 1, 31)) == "2024-01-31"
    assert to_json_value(dt.time(8, 30)) == "08:30:00"
    assert to_json_value(dt.timedelta(minutes=2)) == 120.0
    assert to_json_value(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert to_json_value(b"text") == "text"
    assert to_json_value(b"\xff\x00") == "ff00"
    assert to_json_value(memoryview(b"ab")) == "ab"
    assert to_json_value([Decimal("1"), {"k": dt.date(2024, 1, 1)}]) == [1, {"k": "2024-01-01"}]


def test_a_handler_of_ones_own_or_none(lite: SqlDb) -> None:
    with _dag() as dag:
        SQLExecuteQueryOperator(
            task_id="columns",
            conn_id=lite.conn_id,
            sql="SELECT 1 AS a, 2 AS b",
            handler=lambda cursor: [column[0] for column in cursor.description],
        )
        SQLExecuteQueryOperator(
            task_id="nothing", conn_id=lite.conn_id, sql="SELECT 1", handler=None
        )

    result = run_dag(dag, logical_date=DAY, store=lite.store)

    assert result.xcom("columns") == ["a", "b"]
    assert result.state_of("nothing") == "success"
    assert result.xcom("nothing") is None
