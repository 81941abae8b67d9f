"""The SQL check operators on real databases: each passes on good data and fails on bad data
with one message that lists every failed check, the value seen and what was expected."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from sql_databases import SqlDb

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.operators.sql_checks import (
    SQLCheckOperator,
    SQLColumnCheckOperator,
    SQLTableCheckOperator,
    SQLThresholdCheckOperator,
    SQLValueCheckOperator,
)
from headwater.testing import DagRunResult, run_dag

DAY = datetime(2024, 1, 31, tzinfo=UTC)
ORDERS = [
    (1, "ann", 10, "eu"),
    (2, "bob", 20, "eu"),
    (3, None, -5, "us"),
    (4, "bob", 30, "us"),
]


@pytest.fixture
def orders(db: SqlDb) -> str:
    table = db.table("orders")
    db.hook().run(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, customer VARCHAR(20), "
        "amount NUMERIC(10, 2), region VARCHAR(5))"
    )
    db.hook().insert_rows(table, ORDERS, ["id", "customer", "amount", "region"])
    return table


def _run(db: SqlDb, operator: type, **kwargs: Any) -> DagRunResult:
    with DAG("checks", start_date=DAY, schedule=None) as dag:
        operator(task_id="check", conn_id=db.conn_id, **kwargs)
    return run_dag(dag, logical_date=DAY, store=db.store, run_id=f"run_{next(_RUNS)}")


_RUNS = itertools.count()


def _failure(result: DagRunResult, error_type: str = "SQLCheckFailed") -> str:
    assert result.state_of("check") == "failed"
    error = result.attempts("check")[-1].error or ""
    assert error.startswith(f"{error_type}: "), error
    return error


# -- SQLCheckOperator ---------------------------------------------------------------------------


def test_check_passes_when_every_value_is_true(db: SqlDb, orders: str) -> None:
    result = _run(db, SQLCheckOperator, sql=f"SELECT COUNT(*), MAX(amount) > 0 FROM {orders}")
    assert result.succeeded
    assert result.xcom("check") in ([4, True], [4, 1])


def test_check_fails_listing_each_false_value(db: SqlDb, orders: str) -> None:
    sql = f"SELECT COUNT(*) AS n, MIN(amount) >= 0 AS positive, MAX(customer) AS top, SUM(CASE WHEN id > 9 THEN 1 ELSE 0 END) AS big FROM {orders}"
    error = _failure(_run(db, SQLCheckOperator, sql=sql))
    assert "2 of 4 value(s) of the first row are not true" in error
    assert "column 2 ('positive') is " in error and "expected a true value" in error
    assert "column 4 ('big') is 0, expected a true value" in error
    assert "column 1" not in error and "column 3" not in error
    assert f"Query: {sql}" in error


def test_check_fails_when_the_query_returns_no_rows(db: SqlDb, orders: str) -> None:
    error = _failure(_run(db, SQLCheckOperator, sql=f"SELECT id FROM {orders} WHERE id > 100"))
    assert "the query returned no rows" in error


# -- SQLValueCheckOperator --------------------------------------------------------------------


def test_value_check_compares_every_value(db: SqlDb, orders: str) -> None:
    passing = _run(
        db,
        SQLValueCheckOperator,
        sql=f"SELECT SUM(amount), 2 * SUM(amount) / 2 FROM {orders}",
        pass_value="55",
        tolerance=0.01,
    )
    assert passing.succeeded, passing.attempts("check")[-1].error

    error = _failure(
        _run(
            db,
            SQLValueCheckOperator,
            sql=f"SELECT COUNT(*), SUM(amount) FROM {orders}",
            pass_value=50,
            tolerance=0.05,
        )
    )
    assert "2 of 2 value(s) do not match" in error
    assert "column 1 ('" in error and "is 4, expected equal to 50 ± 5% (47.5 to 52.5)" in error
    assert "is 55, expected equal to 50 ± 5% (47.5 to 52.5)" in error


def test_value_check_compares_text_as_text(db: SqlDb, orders: str) -> None:
    sql = f"SELECT MAX(customer) FROM {orders}"
    assert _run(db, SQLValueCheckOperator, sql=sql, pass_value="bob").succeeded
    error = _failure(_run(db, SQLValueCheckOperator, sql=sql, pass_value="ann"))
    assert "is 'bob', expected 'ann'" in error


def test_value_check_refuses_a_negative_tolerance() -> None:
    with (
        DAG("bad", start_date=DAY, schedule=None),
        pytest.raises(DagDefinitionError, match="tolerance must be a number >= 0, got -1"),
    ):
        SQLValueCheckOperator(task_id="c", conn_id="x", sql="SELECT 1", pass_value=1, tolerance=-1)


# -- SQLThresholdCheckOperator ---------------------------------------------------------------


def test_threshold_check_passes_between_numbers_and_queries(db: SqlDb, orders: str) -> None:
    result = _run(
        db,
        SQLThresholdCheckOperator,
        sql=f"SELECT SUM(amount) FROM {orders}",
        min_threshold=f"SELECT MIN(amount) FROM {orders}",
        max_threshold="100",
    )
    assert result.succeeded, result.attempts("check")[-1].error
    assert result.xcom("check") == {
        "result": 55,
        "min_threshold": -5.0,
        "max_threshold": 100.0,
        "within_threshold": True,
    }


def test_threshold_check_fails_outside_naming_both_bounds(db: SqlDb, orders: str) -> None:
    sql = f"SELECT COUNT(*) FROM {orders}"
    error = _failure(
        _run(
            db,
            SQLThresholdCheckOperator,
            sql=sql,
            min_threshold=10,
            max_threshold=f"SELECT MAX(amount) FROM {orders}",
        )
    )
    assert (
        f"the value is 4, expected >= 10 and <= 30 (from SELECT MAX(amount) FROM {orders})" in error
    )


def test_threshold_check_fails_when_a_threshold_query_is_not_a_number(
    db: SqlDb, orders: str
) -> None:
    error = _failure(
        _run(
            db,
            SQLThresholdCheckOperator,
            sql="SELECT 1",
            min_threshold=f"SELECT MAX(customer) FROM {orders}",
            max_threshold=2,
        )
    )
    assert "the min_threshold query returned 'bob', not a number" in error


# -- SQLColumnCheckOperator --------------------------------------------------------------------


GOOD_COLUMNS = {
    "id": {
        "null_check": {"equal_to": 0},
        "unique_check": {"equal_to": 0},
        "distinct_check": {"equal_to": 4},
    },
    "amount": {"min": {"geq_to": -5}, "max": {"less_than": 31}},
    "customer": {"distinct_check": {"geq_to": 2, "leq_to": 2}},
}


def test_column_checks_pass_and_return_every_value(db: SqlDb, orders: str) -> None:
    result = _run(db, SQLColumnCheckOperator, table=orders, column_mapping=GOOD_COLUMNS)
    assert result.succeeded, result.attempts("check")[-1].error
    assert result.xcom("check") == {
        "id": {
            "null_check": {"result": 0, "success": True},
            "unique_check": {"result": 0, "success": True},
            "distinct_check": {"result": 4, "success": True},
        },
        "amount": {"min": {"result": -5, "success": True}, "max": {"result": 30, "success": True}},
        "customer": {"distinct_check": {"result": 2, "success": True}},
    }


def test_column_checks_fail_listing_every_failed_check(db: SqlDb, orders: str) -> None:
    mapping = {
        "customer": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
        "amount": {
            "min": {"geq_to": 0},
            "max": {"leq_to": 30},
            "distinct_check": {"greater_than": 10, "tolerance": 0.5},
        },
        "id": {"null_check": {"equal_to": 0}},
    }
    error = _failure(_run(db, SQLColumnCheckOperator, table=orders, column_mapping=mapping))
    assert f"SQL column checks 'check' on table {orders!r}: 4 of 6 failed:" in error
    assert "column 'customer' null_check: got 1, expected equal to 0" in error
    assert "column 'customer' unique_check: got 1, expected equal to 0" in error
    assert "column 'amount' min: got -5, expected >= 0" in error
    assert "column 'amount' distinct_check: got 4, expected > 5 (with a tolerance of 50%)" in error
    assert "max" not in error and "'id'" not in error


def test_column_checks_follow_the_partition_clauses(db: SqlDb, orders: str) -> None:
    mapping = {
        "amount": {"min": {"geq_to": 0}},  # true in the eu partition
        "customer": {
            "null_check": {"equal_to": 0, "partition_clause": "id < 4"}
        },  # (eu and id < 4)
        "id": {"distinct_check": {"equal_to": 2}},
    }
    assert _run(
        db,
        SQLColumnCheckOperator,
        table=orders,
        column_mapping=mapping,
        partition_clause="region = 'eu'",
    ).succeeded

    error = _failure(
        _run(
            db,
            SQLColumnCheckOperator,
            table=orders,
            column_mapping=mapping,
            partition_clause="region = 'us'",
        )
    )
    assert f"on table {orders!r} (where region = 'us'): 2 of 3 failed" in error
    assert "column 'amount' min: got -5, expected >= 0" in error
    assert "column 'customer' null_check where id < 4: got 1, expected equal to 0" in error


def test_column_checks_on_no_rows_see_null_unless_accept_none(db: SqlDb, orders: str) -> None:
    mapping = {"amount": {"min": {"geq_to": 0}}}
    error = _failure(
        _run(
            db,
            SQLColumnCheckOperator,
            table=orders,
            column_mapping=mapping,
            partition_clause="id > 100",
        )
    )
    assert "column 'amount' min: got NULL, expected >= 0" in error
    assert _run(
        db,
        SQLColumnCheckOperator,
        table=orders,
        column_mapping=mapping,
        partition_clause="id > 100",
        accept_none=True,
    ).succeeded


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({}, "column_mapping must be a non-empty dict"),
        (
            {"a": {"nul_check": {"equal_to": 0}}},
            "column 'a': unknown check 'nul_check'; use null_check",
        ),
        ({"a": {"min": {"geq": 0}}}, "column 'a' min: unknown key(s) 'geq'"),
        ({"a": {"min": {"tolerance": 0.1}}}, "column 'a' min: give one of equal_to"),
        ({"a": {"min": {"equal_to": 1, "less_than": 3}}}, "equal_to cannot be combined"),
        ({"a": {"min": {"geq_to": "zero"}}}, "geq_to must be a number, got 'zero'"),
        ({"a": {"min": {"geq_to": 1, "tolerance": -0.1}}}, "tolerance must be >= 0"),
        ({"a": []}, "column 'a': give a dict of checks"),
    ],
)
def test_column_mappings_are_checked_when_the_dag_is_defined(
    mapping: dict[str, Any], message: str
) -> None:
    with DAG("bad", start_date=DAY, schedule=None), pytest.raises(DagDefinitionError) as info:
        SQLColumnCheckOperator(task_id="c", conn_id="x", table="t", column_mapping=mapping)
    assert message in str(info.value)


def test_column_checks_refuse_a_hostile_column_name(lite: SqlDb) -> None:
    lite.hook().run("CREATE TABLE t (a INT)")
    mapping = {"a) FROM t; DROP TABLE t; --": {"min": {"geq_to": 0}}}
    error = _failure(
        _run(lite, SQLColumnCheckOperator, table="t", column_mapping=mapping), "SqlIdentifierError"
    )
    assert "is not a plain SQL identifier" in error
    assert lite.hook().get_records("SELECT name FROM sqlite_master") == [("t",)]


# -- SQLTableCheckOperator ---------------------------------------------------------------------


def test_table_checks_pass(db: SqlDb, orders: str) -> None:
    checks = {
        "row_count_check": {"equal_to": 4},
        "sum_check": {"expression": "SUM(amount)", "geq_to": 50, "leq_to": 60},
        "eu_positive": {"check_statement": "MIN(amount) > 0", "partition_clause": "region = 'eu'"},
    }
    result = _run(db, SQLTableCheckOperator, table=orders, checks=checks)
    assert result.succeeded, result.attempts("check")[-1].error
    assert result.xcom("check") == {
        "row_count_check": {"result": 4, "success": True},
        "sum_check": {"result": 55, "success": True},
        "eu_positive": {"result": 1, "success": True},
    }


def test_table_checks_fail_listing_every_failed_check(db: SqlDb, orders: str) -> None:
    checks = {
        "row_count_check": {"geq_to": 10},
        "all_positive": {"check_statement": "MIN(amount) > 0"},
        "us_rows": {"check_statement": "COUNT(*) = 2", "partition_clause": "region = 'us'"},
        "no_rows_is_null": {"check_statement": "MAX(amount) > 0", "partition_clause": "id > 100"},
    }
    error = _failure(_run(db, SQLTableCheckOperator, table=orders, checks=checks))
    assert f"SQL table checks 'check' on table {orders!r}: 3 of 4 failed:" in error
    assert "row_count_check: COUNT(*) is 4, expected >= 10" in error
    assert "all_positive: MIN(amount) > 0 is false" in error
    assert "no_rows_is_null: MAX(amount) > 0 where id > 100 is false" in error
    assert "us_rows" not in error


def test_table_checks_are_templated(db: SqlDb, orders: str) -> None:
    with DAG("checks", start_date=DAY, schedule=None, params={"region": "eu", "rows": 2}) as dag:
        SQLTableCheckOperator(
            task_id="check",
            conn_id=db.conn_id,
            table=orders,
            partition_clause="region = '{{ params.region }}'",
            checks={"region_rows": {"check_statement": "COUNT(*) = {{ params.rows }}"}},
        )
    assert run_dag(dag, logical_date=DAY, store=db.store).succeeded
    failed = run_dag(dag, logical_date=DAY, store=db.store, conf={"rows": 3}, run_id="again")
    assert "region_rows: COUNT(*) = 3 is false" in (failed.attempts("check")[-1].error or "")


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({}, "checks must be a non-empty dict"),
        (
            {"x": {"equal_to": 1}},
            "table check 'x': give a check_statement (boolean SQL) or an expression",
        ),
        (
            {"x": {"check_statement": "1 = 1", "equal_to": 1}},
            "check_statement cannot be combined with equal_to",
        ),
        (
            {"row_count_check": {"more_than": 1}},
            "table check 'row_count_check': unknown key(s) 'more_than'",
        ),
        ({"x": "COUNT(*) > 0"}, "table check 'x': expected a dict"),
    ],
)
def test_table_checks_are_checked_when_the_dag_is_defined(
    checks: dict[str, Any], message: str
) -> None:
    with DAG("bad", start_date=DAY, schedule=None), pytest.raises(DagDefinitionError) as info:
        SQLTableCheckOperator(task_id="c", conn_id="x", table="t", checks=checks)
    assert message in str(info.value)
