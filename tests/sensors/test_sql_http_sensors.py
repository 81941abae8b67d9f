"""SqlSensor on SQLite and PostgreSQL, HttpSensor against a real HTTP server on 127.0.0.1,
in poke mode under ``run_dag``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.sensors import HttpSensor, ResponseCondition, SqlSensor
from headwater.testing import MemoryStore, run_dag
from waiting_services import ScriptedApi, WaitDb

DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _error(result: Any, task_id: str) -> str:
    attempt = result.attempts(task_id)[-1]
    assert attempt.error is not None
    return str(attempt.error)


# -- SqlSensor -------------------------------------------------------------------------------


def _loads(db: WaitDb, *rows: tuple[str, str]) -> str:
    table = db.table("loads")
    db.run(f"CREATE TABLE {table} (day VARCHAR(10), state VARCHAR(20), n INTEGER)")
    for day, state in rows:
        db.run(f"INSERT INTO {table} VALUES ('{day}', '{state}', 5)")
    return table


def test_sql_sensor_criteria_pairs_functions_and_truthiness(wait_db: WaitDb) -> None:
    table = _loads(wait_db, ("2024-01-31", "done"))
    where = f"FROM {table} WHERE day = {wait_db.placeholder}"
    with DAG("wait_sql", start_date=DAY, schedule=None) as dag:
        SqlSensor(
            task_id="pair",
            conn_id="db",
            sql=f"SELECT state {where}",
            parameters=["{{ ds }}"],
            success=("in", ["done", "skipped"]),
            failure=("==", "failed"),
        )
        SqlSensor(
            task_id="function",
            conn_id="db",
            sql=f"SELECT n {where}",
            parameters=["{{ ds }}"],
            success=lambda n: n >= 5,
        )
        SqlSensor(task_id="truthy", conn_id="db", sql=f"SELECT count(*) FROM {table}")
    result = run_dag(dag, logical_date=DAY, store=wait_db.store)
    assert result.task_states == {"pair": "success", "function": "success", "truthy": "success"}
    assert result.rendered("pair")["parameters"] == ["2024-01-31"]
    assert "First cell: 'done'; condition met" in result.log("pair")


def test_sql_sensor_failure_empty_and_timeout(wait_db: WaitDb) -> None:
    table = _loads(wait_db, ("2024-01-31", "failed"))
    with DAG("wait_sql_bad", start_date=DAY, schedule=None) as dag:
        SqlSensor(
            task_id="failure",
            conn_id="db",
            sql=f"SELECT state FROM {table}",
            failure=lambda state: state == "failed",
        )
        SqlSensor(
            task_id="empty",
            conn_id="db",
            sql=f"SELECT state FROM {table} WHERE day = 'never'",
            fail_on_empty=True,
        )
        SqlSensor(
            task_id="zero",
            conn_id="db",
            sql=f"SELECT count(*) FROM {table} WHERE state = 'done'",
            timeout=0,
            soft_fail=True,
        )
    result = run_dag(dag, logical_date=DAY, store=wait_db.store)
    assert result.task_states == {"failure": "failed", "empty": "failed", "zero": "skipped"}
    assert _error(result, "failure") == (
        "SqlConditionError: failure criterion met: <lambda>(first cell) (cell 'failed')"
    )
    assert _error(result, "empty") == (
        "SqlConditionError: the query returned no row (fail_on_empty=True)"
    )


def test_sql_sensor_checks_its_criteria_when_the_dag_is_defined() -> None:
    with DAG("bad_sql", start_date=DAY, schedule=None):
        with pytest.raises(DagDefinitionError, match="task 'w': success must be a function"):
            SqlSensor(task_id="w", conn_id="db", sql="SELECT 1", success="done")
        with pytest.raises(
            DagDefinitionError,
            match=r"task 'd': failure must be an \(operator, operand\) pair .* when the sensor "
            r"defers",
        ):
            SqlSensor(task_id="d", conn_id="db", sql="SELECT 1", failure=bool, deferrable=True)


# -- HttpSensor ------------------------------------------------------------------------------


def _api_store(api: ScriptedApi) -> MemoryStore:
    store = MemoryStore()
    store.set_connection(api.connection())
    return store


def test_http_sensor_waits_through_404s_until_the_check_passes(scripted_api: ScriptedApi) -> None:
    scripted_api.script(
        "/v1/exports/2024-01-31",
        [(404, {}), (200, {"state": "running"}), (200, {"state": "done", "rows": 7})],
    )
    seen: list[str] = []

    def finished(response: httpx.Response, ds: str) -> bool:
        seen.append(ds)
        return bool(response.json()["state"] == "done")

    with DAG("wait_http", start_date=DAY, schedule=None) as dag:
        HttpSensor(
            task_id="wait",
            http_conn_id="api",
            endpoint="v1/exports/{{ ds }}",
            response_check=finished,
            poke_interval=0.01,
        )
    result = run_dag(dag, logical_date=DAY, store=_api_store(scripted_api))
    assert result.state_of("wait") == "success"
    assert scripted_api.asked == ["/v1/exports/2024-01-31"] * 3
    assert seen == ["2024-01-31", "2024-01-31"]  # the 404 is not given to the check
    assert "Answer 404 does not meet the condition yet" in result.log("wait")


def test_http_sensor_with_a_response_condition(scripted_api: ScriptedApi) -> None:
    scripted_api.script("/job", [(202, {"state": "queued"}), (200, {"job": {"state": "done"}})])
    with DAG("wait_cond", start_date=DAY, schedule=None) as dag:
        HttpSensor(
            task_id="wait",
            http_conn_id="api",
            endpoint="job",
            response_check=ResponseCondition(
                status_codes=(200,), json_path="job.state", equals="done"
            ),
            poke_interval=0.01,
        )
    result = run_dag(dag, logical_date=DAY, store=_api_store(scripted_api))
    assert result.state_of("wait") == "success"
    assert len(scripted_api.asked) == 2


def test_http_sensor_fails_on_an_error_answer_outside_the_allowlist(
    scripted_api: ScriptedApi,
) -> None:
    scripted_api.script("/broken", [(500, {"error": "disk full"})])
    scripted_api.script("/gone", [(410, {}), (200, {})])
    with DAG("wait_broken", start_date=DAY, schedule=None) as dag:
        HttpSensor(task_id="broken", http_conn_id="api", endpoint="broken", retries=0)
        HttpSensor(
            task_id="gone",
            http_conn_id="api",
            endpoint="gone",
            response_error_codes_allowlist=["404", "410"],
            poke_interval=0.01,
        )
    result = run_dag(dag, logical_date=DAY, store=_api_store(scripted_api))
    assert result.task_states == {"broken": "failed", "gone": "success"}
    error = _error(result, "broken")
    assert error.startswith("HttpResponseError: GET http://127.0.0.1:")
    assert "/broken answered 500 Internal Server Error" in error


def test_http_sensor_checks_its_arguments_when_the_dag_is_defined() -> None:
    with DAG("bad_http", start_date=DAY, schedule=None):
        with pytest.raises(DagDefinitionError, match="task 'd': deferrable=True needs a "):
            HttpSensor(task_id="d", endpoint="x", response_check=lambda r: True, deferrable=True)
        with pytest.raises(DagDefinitionError, match=r"task 'o': unknown extra_options \['check_"):
            HttpSensor(
                task_id="o",
                endpoint="x",
                extra_options={"check_response": False},
                deferrable=True,
            )
        with pytest.raises(DagDefinitionError, match="task 'm': method 'FETCH' is not one of"):
            HttpSensor(task_id="m", endpoint="x", method="FETCH")
        with pytest.raises(DagDefinitionError, match="task 'c': response_check must be"):
            HttpSensor(task_id="c", endpoint="x", response_check="ok")  # type: ignore[arg-type]
