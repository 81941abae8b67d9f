"""The built-in sensors without a server, in poke mode under ``run_dag``: PythonSensor,
FileSensor, DateTimeSensor and TimeDeltaSensor (and their deferrable forms when their
condition already holds: they finish without deferring); timeout and soft_fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator
from headwater.secrets import Connection
from headwater.sensors import (
    DateTimeSensor,
    DateTimeSensorAsync,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
)
from headwater.testing import run_dag

DAY = datetime(2024, 1, 31, tzinfo=UTC)
FAST = {"poke_interval": 0.01}
"""Pokes 10 ms apart: a sensor that waits a few pokes costs the test a few ms."""


def _error(result: Any, task_id: str) -> str:
    attempt = result.attempts(task_id)[-1]
    assert attempt.error is not None
    return str(attempt.error)


# -- PythonSensor ----------------------------------------------------------------------------


def test_python_sensor_pokes_until_the_callable_is_truthy() -> None:
    calls: list[str] = []

    def ready(day: str, ds: str) -> bool:
        calls.append(day)
        return len(calls) == 3

    with DAG("wait_py", start_date=DAY, schedule="@daily") as dag:
        PythonSensor(task_id="wait", python_callable=ready, op_kwargs={"day": "{{ ds }}"}, **FAST)
    result = run_dag(dag, logical_date=DAY)
    assert result.state_of("wait") == "success"
    assert calls == ["2024-01-31"] * 3
    assert len(result.attempts("wait")) == 1  # poke mode: one attempt holds the slot
    log = result.log("wait")
    assert log.count("Poking callable: ready") == 3
    assert log.count("Condition not met; poking again in 0.01 s") == 2


def test_python_sensor_poke_return_value_becomes_the_xcom() -> None:
    def ready(templates_dict: dict[str, Any]) -> PokeReturnValue:
        return PokeReturnValue(True, {"table": templates_dict["table"]})

    with DAG("wait_xcom", start_date=DAY, schedule=None) as dag:
        PythonSensor(
            task_id="wait", python_callable=ready, templates_dict={"table": "sales_{{ ds_nodash }}"}
        )
    result = run_dag(dag, logical_date=DAY)
    assert result.xcom("wait") == {"table": "sales_20240131"}


def test_python_sensor_times_out_without_retrying_and_downstream_does_not_run() -> None:
    with DAG("wait_timeout", start_date=DAY, schedule=None) as dag:
        PythonSensor(task_id="wait", python_callable=lambda: False, timeout=0, retries=2) >> (
            EmptyOperator(task_id="after")
        )
    result = run_dag(dag, logical_date=DAY)
    assert result.task_states == {"wait": "failed", "after": "upstream_failed"}
    assert len(result.attempts("wait")) == 1
    assert _error(result, "wait").startswith("SensorTimeout: sensor 'wait' timed out after ")
    assert _error(result, "wait").endswith("s (timeout 0 s)")


def test_python_sensor_soft_fail_is_skipped_on_timeout() -> None:
    with DAG("wait_soft", start_date=DAY, schedule=None) as dag:
        PythonSensor(task_id="wait", python_callable=lambda: 0, timeout=0, soft_fail=True) >> (
            EmptyOperator(task_id="after")
        )
    result = run_dag(dag, logical_date=DAY)
    assert result.task_states == {"wait": "skipped", "after": "skipped"}


def test_python_sensor_refuses_a_callable_that_is_not() -> None:
    with (
        DAG("bad", start_date=DAY, schedule=None),
        pytest.raises(DagDefinitionError, match="task 'wait': python_callable must be"),
    ):
        PythonSensor(task_id="wait", python_callable="ready")  # type: ignore[arg-type]


# -- FileSensor ------------------------------------------------------------------------------


def _landing(folder: Path) -> Connection:
    return Connection("landing", "fs", extra={"path": str(folder)})


def test_file_sensor_finds_a_templated_glob_under_its_connection_folder(tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "20240131_eu.csv").write_text("id\n")
    with DAG("wait_file", start_date=DAY, schedule=None) as dag:
        FileSensor(task_id="wait", fs_conn_id="landing", filepath="orders/{{ ds_nodash }}_*.csv")
    result = run_dag(dag, logical_date=DAY, connections={"landing": _landing(tmp_path)})
    assert result.state_of("wait") == "success"
    assert result.xcom("wait") == str(tmp_path / "orders" / "20240131_eu.csv")
    assert result.rendered("wait")["filepath"] == "orders/20240131_*.csv"
    assert f"Poking for file {tmp_path / 'orders' / '20240131_*.csv'}" in result.log("wait")


def test_file_sensor_absolute_path_needs_no_connection_and_times_out_when_missing(
    tmp_path: Path,
) -> None:
    with DAG("wait_abs", start_date=DAY, schedule=None) as dag:
        FileSensor(task_id="there", filepath=str(tmp_path / "**" / "*.parquet"), recursive=True)
        FileSensor(task_id="missing", filepath=str(tmp_path / "nothing.csv"), timeout=0)
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "part-0.parquet").write_text("x")
    result = run_dag(dag, logical_date=DAY)
    assert result.task_states == {"there": "success", "missing": "failed"}
    assert result.xcom("there") == str(tmp_path / "a" / "b" / "part-0.parquet")
    assert _error(result, "missing").startswith("SensorTimeout: sensor 'missing' timed out")


def test_file_sensor_errors_name_the_task_and_the_connection(tmp_path: Path) -> None:
    with DAG("wait_bad", start_date=DAY, schedule=None) as dag:
        FileSensor(task_id="no_conn", fs_conn_id="nowhere", filepath="in.csv")
        FileSensor(task_id="escapes", fs_conn_id="landing", filepath="../etc/passwd")
    result = run_dag(dag, logical_date=DAY, connections={"landing": _landing(tmp_path)})
    assert result.task_states == {"no_conn": "failed", "escapes": "failed"}
    assert "task 'no_conn'" in _error(result, "no_conn")
    assert "'nowhere'" in _error(result, "no_conn")
    assert "task 'escapes': '../etc/passwd' is outside the folder" in _error(result, "escapes")
    with (
        DAG("wait_bad2", start_date=DAY, schedule=None),
        pytest.raises(DagDefinitionError, match="task 'w': filepath must be a non-empty"),
    ):
        FileSensor(task_id="w", filepath="")


def test_deferrable_file_sensor_whose_file_is_there_finishes_without_deferring(
    tmp_path: Path,
) -> None:
    (tmp_path / "ready.flag").write_text("")
    with DAG("wait_file_now", start_date=DAY, schedule=None) as dag:
        FileSensor(task_id="wait", filepath=str(tmp_path / "ready.flag"), deferrable=True)
    result = run_dag(dag, logical_date=DAY)
    assert result.state_of("wait") == "success"
    assert result.xcom("wait") == str(tmp_path / "ready.flag")
    assert "Deferring" not in result.log("wait")


# -- DateTimeSensor and TimeDeltaSensor ------------------------------------------------------


def test_date_time_sensor_passes_a_templated_moment_that_has_come() -> None:
    with DAG("wait_time", start_date=DAY, schedule="@daily") as dag:
        DateTimeSensor(task_id="wait", target_time="{{ data_interval_end }}")
        DateTimeSensorAsync(task_id="wait_async", target_time=DAY)
        DateTimeSensor(task_id="naive_is_utc", target_time="2024-01-31T06:00:00")
    result = run_dag(dag, logical_date=DAY)
    assert result.task_states == {
        "wait": "success",
        "wait_async": "success",
        "naive_is_utc": "success",
    }
    assert result.rendered("wait")["target_time"] == "2024-02-01 00:00:00+00:00"
    assert "Checking whether the time (2024-02-01T00:00:00+00:00) has come" in result.log("wait")
    assert "(2024-01-31T06:00:00+00:00)" in result.log("naive_is_utc")


def test_date_time_sensor_in_the_future_times_out() -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    with DAG("wait_later", start_date=DAY, schedule=None) as dag:
        DateTimeSensor(task_id="wait", target_time=later, timeout=0)
    result = run_dag(dag, logical_date=DAY)
    assert result.state_of("wait") == "failed"
    assert _error(result, "wait").startswith("SensorTimeout: sensor 'wait' timed out")


def test_date_time_sensor_refuses_what_is_not_a_moment() -> None:
    with DAG("bad_time", start_date=DAY, schedule=None):
        with pytest.raises(DagDefinitionError, match="task 'w': target_time 'noon' is not an ISO"):
            DateTimeSensor(task_id="w", target_time="noon")
        with pytest.raises(DagDefinitionError, match="target_time must be a datetime or ISO 8601"):
            DateTimeSensor(task_id="w2", target_time=1700000000)  # type: ignore[arg-type]


def test_time_delta_sensor_counts_from_the_end_of_the_data_interval() -> None:
    with DAG("wait_delta", start_date=DAY, schedule="@daily") as dag:
        TimeDeltaSensor(task_id="wait", delta=timedelta(hours=6))
        TimeDeltaSensorAsync(task_id="wait_async", delta=timedelta(hours=6))
        TimeDeltaSensor(task_id="far", delta=timedelta(days=365 * 100), timeout=0)
    result = run_dag(dag, logical_date=DAY)
    assert result.task_states == {"wait": "success", "wait_async": "success", "far": "failed"}
    assert "Checking whether 2024-02-01T06:00:00+00:00 has passed" in result.log("wait")
    assert _error(result, "far").startswith("SensorTimeout: sensor 'far' timed out")
    with (
        DAG("bad_delta", start_date=DAY, schedule=None),
        pytest.raises(DagDefinitionError, match="task 'w': delta must be a timedelta"),
    ):
        TimeDeltaSensor(task_id="w", delta=3600)  # type: ignore[arg-type]
