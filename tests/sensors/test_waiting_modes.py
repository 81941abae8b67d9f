"""The built-in sensors in ``mode="reschedule"`` and with ``deferrable=True``, end to end
under ``run_dag``: each poke of a rescheduled sensor is its own try (not a retry) and the
timeout counts across them on the run's clock; a deferred sensor's trigger runs (inline, as
the triggerer would run it) against real files, a real HTTP server and real databases, and
the sensor resumes in a new try."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater import DAG
from headwater.clock import FakeClock
from headwater.secrets import Connection
from headwater.sensors import (
    DateTimeSensorAsync,
    FileSensor,
    HttpSensor,
    PythonSensor,
    ResponseCondition,
    SqlSensor,
)
from headwater.settings import Settings
from headwater.testing import run_dag
from waiting_services import ScriptedApi, WaitDb

DAY = datetime(2024, 1, 31, tzinfo=UTC)


def states(result: Any, task_id: str) -> list[str]:
    return [a.state.value for a in result.attempts(task_id)]


def test_reschedule_mode_pokes_in_tries_of_their_own(settings: Settings, clock: FakeClock) -> None:
    calls: list[int] = []

    def third_time(try_number: int) -> bool:
        calls.append(try_number)
        return len(calls) == 3

    started = clock.now()
    with DAG("resched", start_date=DAY, schedule=None) as dag:
        PythonSensor(
            task_id="wait",
            python_callable=third_time,
            mode="reschedule",
            poke_interval=60,
            retries=0,
        )
    result = run_dag(dag, logical_date=DAY, clock=clock, settings=settings)
    assert result.state_of("wait") == "success"
    assert states(result, "wait") == ["up_for_reschedule", "up_for_reschedule", "success"]
    assert calls == [1, 2, 3]  # each poke is a new try, none counted against retries=0
    assert clock.now() - started >= timedelta(minutes=2)  # waited on the run's clock
    for try_number in (1, 2, 3):
        assert "Poking callable: third_time" in result.log("wait", try_number=try_number)


def test_reschedule_timeout_counts_from_the_first_poke(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    with DAG("resched_timeout", start_date=DAY, schedule=None) as dag:
        FileSensor(
            task_id="hard",
            filepath=str(tmp_path / "never.csv"),
            mode="reschedule",
            poke_interval=60,
            timeout=150,
            retries=2,
        )
        FileSensor(
            task_id="soft",
            filepath=str(tmp_path / "never.csv"),
            mode="reschedule",
            poke_interval=60,
            timeout=150,
            soft_fail=True,
        )
    result = run_dag(dag, logical_date=DAY, clock=clock, settings=settings)
    assert result.task_states == {"hard": "failed", "soft": "skipped"}
    # Pokes at 0, 60 and 120 s wait; the one at 150 s (the last wait cut to the 30 s left)
    # times out.
    assert states(result, "hard") == ["up_for_reschedule"] * 3 + ["failed"]
    error = result.attempts("hard")[-1].error or ""
    assert error.startswith("SensorTimeout: sensor 'hard' timed out after 150 s (timeout 150 s)")


def test_deferrable_http_sensor_resumes_when_its_trigger_sees_the_condition(
    settings: Settings, scripted_api: ScriptedApi
) -> None:
    scripted_api.script(
        "/v1/exports/2024-01-31",
        [(404, {}), (200, {"state": "running"}), (200, {"state": "ready"})],
    )
    with DAG("defer_http", start_date=DAY, schedule=None) as dag:
        HttpSensor(
            task_id="wait",
            http_conn_id="api",
            endpoint="v1/exports/{{ ds }}",
            response_check=ResponseCondition(json_path="state", equals="ready"),
            deferrable=True,
            poke_interval=0.01,
            timeout=30,  # a bug fails the test instead of hanging it
        )
    result = run_dag(
        dag,
        logical_date=DAY,
        settings=settings,
        connections={"api": scripted_api.connection()},
    )
    assert result.state_of("wait") == "success"
    assert states(result, "wait") == ["deferred", "success"]
    # One request from the worker's first check, two from the trigger.
    assert scripted_api.asked == ["/v1/exports/2024-01-31"] * 3
    assert "Deferring to headwater.triggers.http.HttpTrigger" in result.log("wait", try_number=1)


def test_deferrable_file_sensor_resumes_with_the_file_found(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "in" / "orders.csv"
    timers: list[threading.Timer] = []

    def drop() -> None:
        target.parent.mkdir()
        target.write_text("id\n")

    class DropAfterFirstCheck(FileSensor):
        """Drops the file just after its first check (in the worker), so that the trigger
        is the one that finds it."""

        def poke(self, context: dict[str, Any]) -> Any:
            found = super().poke(context)
            if not timers:
                timers.append(threading.Timer(0.05, drop))
                timers[0].start()
            return found

    with DAG("defer_file", start_date=DAY, schedule=None) as dag:
        DropAfterFirstCheck(
            task_id="wait",
            fs_conn_id="landing",
            filepath="in/*.csv",
            deferrable=True,
            poke_interval=0.01,
            timeout=30,  # a bug fails the test instead of hanging it
        )
    result = run_dag(
        dag,
        logical_date=DAY,
        settings=settings,
        connections={"landing": Connection("landing", "fs", extra={"path": str(tmp_path)})},
    )
    timers[0].join()
    assert states(result, "wait") == ["deferred", "success"]
    assert result.xcom("wait") == str(target)


def test_deferrable_sql_sensor_succeeds_or_fails_with_its_trigger(
    settings: Settings, wait_db: WaitDb
) -> None:
    table = wait_db.table("loads")
    wait_db.run(f"CREATE TABLE {table} (name VARCHAR(10), state VARCHAR(20))")
    wait_db.run(f"INSERT INTO {table} VALUES ('a', 'running'), ('b', 'running')")
    checks: list[str] = []

    class ChangeAfterFirstChecks(SqlSensor):
        """Once both sensors made their first check (in the worker) and found 'running',
        the loads end: the triggers are the ones that see it."""

        def poke(self, context: dict[str, Any]) -> bool:
            met = super().poke(context)
            checks.append(self.task_id)
            if len(checks) == 2:
                wait_db.run(
                    f"UPDATE {table} SET state = 'done' WHERE name = 'a';"
                    f"UPDATE {table} SET state = 'failed' WHERE name = 'b'"
                )
            return met

    with DAG("defer_sql", start_date=DAY, schedule=None) as dag:
        for name in ("a", "b"):
            ChangeAfterFirstChecks(
                task_id=name,
                conn_id="db",
                sql=f"SELECT state FROM {table} WHERE name = '{name}'",
                success=("==", "done"),
                failure=("==", "failed"),
                deferrable=True,
                poke_interval=0.01,
                timeout=30,  # a bug fails the test instead of hanging it
            )
    result = run_dag(dag, logical_date=DAY, settings=settings, store=wait_db.store)
    assert result.task_states == {"a": "success", "b": "failed"}
    assert states(result, "a") == ["deferred", "success"]
    assert states(result, "b") == ["deferred", "failed"]
    assert (result.attempts("b")[-1].error or "") == (
        "SqlConditionError: task 'b': SQL condition on 'db': SqlConditionError: failure "
        "criterion met: first cell == 'failed' (cell 'failed')"
    )


def test_date_time_sensor_async_defers_until_its_moment(
    settings: Settings, clock: FakeClock
) -> None:
    # The worker checks on the run's clock (a fake one, months before the moment), so it
    # defers; the trigger waits for the moment in real time.
    moment = datetime.now(UTC) + timedelta(milliseconds=100)
    with DAG("defer_time", start_date=DAY, schedule=None) as dag:
        DateTimeSensorAsync(task_id="wait", target_time=moment, timeout=30)
    result = run_dag(dag, logical_date=DAY, settings=settings, clock=clock)
    assert states(result, "wait") == ["deferred", "success"]
    assert datetime.now(UTC) >= moment


def test_a_deferred_sensor_past_its_timeout_fails_without_retrying_or_is_skipped(
    settings: Settings, clock: FakeClock
) -> None:
    """As Airflow: a deferrable sensor whose deferral times out times out as a sensor does
    (no retry; skipped with soft_fail), not as a failure that retries."""
    far = datetime.now(UTC) + timedelta(days=1)
    with DAG("defer_timeout", start_date=DAY, schedule=None) as dag:
        DateTimeSensorAsync(task_id="strict", target_time=far, timeout=0.05, retries=2)
        DateTimeSensorAsync(task_id="soft", target_time=far, timeout=0.05, soft_fail=True)
    result = run_dag(dag, logical_date=DAY, settings=settings, clock=clock)
    assert states(result, "strict") == ["deferred", "failed"]
    assert "SensorTimeout" in (result.ti("strict").error or "")
    assert "sensor 'strict' timed out" in (result.ti("strict").error or "")
    assert states(result, "soft") == ["deferred", "skipped"]
