"""What the deferrable sensors hand to the triggerer, and how they resume: ``execute``
checks once and, when the condition does not hold, defers (``TaskDeferred``) on a trigger
that the triggerer can store and build again, resuming in ``execute_complete`` with the
trigger's event. Each sensor is called as a worker calls it, then its trigger is run."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG
from headwater.exceptions import HeadwaterError, SensorTimeout, TaskDeferred, TaskSkipped
from headwater.sensors import (
    DateTimeSensorAsync,
    FileSensor,
    HttpSensor,
    ResponseCondition,
    SqlSensor,
    TimeDeltaSensor,
)
from headwater.sensors.base import BaseSensorOperator
from headwater.triggers import build_trigger
from headwater.triggers.base import run_coroutine
from waiting_services import ScriptedApi, WaitDb

DAY = datetime(2024, 1, 31, tzinfo=UTC)
CONTEXT: dict[str, Any] = {"ti": None, "data_interval_end": DAY, "logical_date": DAY}


def deferral(sensor: BaseSensorOperator) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as raised:
        sensor.execute(dict(CONTEXT))
    deferred = raised.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == sensor.timeout
    return deferred


def fire(deferred: TaskDeferred) -> Any:
    """Store the trigger as the triggerer does, build it again, and run it to its event."""
    classpath, kwargs = deferred.trigger.serialize()
    trigger = build_trigger(classpath, json.loads(json.dumps(kwargs)))

    async def first() -> Any:
        return (await anext(aiter(trigger.run()))).payload

    return run_coroutine(asyncio.wait_for(first(), 10))


def _sensor(cls: type[BaseSensorOperator], **kwargs: Any) -> Any:
    with DAG(f"d_{cls.__name__}", start_date=DAY, schedule=None):
        return cls(task_id="wait", **kwargs)


def test_file_sensor_defers_on_a_file_trigger_and_resumes_with_the_path(tmp_path: Path) -> None:
    target = tmp_path / "in.csv"
    sensor = _sensor(
        FileSensor, filepath=str(target), deferrable=True, poke_interval=0.01, timeout=600
    )
    deferred = deferral(sensor)
    assert deferred.trigger.serialize() == (
        "headwater.triggers.file.FileTrigger",
        {"filepath": str(target), "recursive": False, "poke_interval": 0.01},
    )
    assert deferred.timeout == timedelta(seconds=600)
    target.write_text("id\n")
    event = fire(deferred)
    assert sensor.execute_complete(dict(CONTEXT), event=event) == str(target)
    with pytest.raises(HeadwaterError, match="task 'wait': no file found for"):
        sensor.execute_complete(dict(CONTEXT), event=None)


def test_time_sensors_defer_until_their_moment(tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(milliseconds=50)
    sensor = _sensor(DateTimeSensorAsync, target_time=later)
    deferred = deferral(sensor)
    assert deferred.trigger.serialize()[1] == {"moment": later.isoformat()}
    assert fire(deferred) == later.isoformat()
    assert sensor.execute_complete(dict(CONTEXT), event=later.isoformat()) is None

    delta = _sensor(TimeDeltaSensor, delta=timedelta(days=365 * 100), deferrable=True)
    moment = deferral(delta).trigger.serialize()[1]["moment"]
    assert moment == (DAY + timedelta(days=365 * 100)).isoformat()


def test_a_deferrable_sensor_without_time_left_times_out_instead_of_deferring() -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(SensorTimeout, match="sensor 'wait' timed out after 0 s"):
        _sensor(DateTimeSensorAsync, target_time=later, timeout=0).execute(dict(CONTEXT))
    with pytest.raises(TaskSkipped):
        _sensor(DateTimeSensorAsync, target_time=later, timeout=0, soft_fail=True).execute(
            dict(CONTEXT)
        )


def test_sql_sensor_defers_on_a_sql_trigger(wait_db: WaitDb) -> None:
    table = wait_db.table("loads")
    wait_db.run(f"CREATE TABLE {table} (state VARCHAR(20))")
    wait_db.run(f"INSERT INTO {table} VALUES ('running')")
    sensor = _sensor(
        SqlSensor,
        conn_id="db",
        sql=f"SELECT state FROM {table}",
        success=("==", "done"),
        failure=("==", "failed"),
        deferrable=True,
        poke_interval=0.01,
    )
    deferred = deferral(sensor)
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "headwater.triggers.sql.SqlTrigger"
    assert (kwargs["success"], kwargs["failure"]) == (["==", "done"], ["==", "failed"])
    wait_db.run(f"UPDATE {table} SET state = 'done'")
    event = fire(deferred)
    assert event == {"status": "success", "first_cell": "done"}
    assert sensor.execute_complete(dict(CONTEXT), event=event) is None
    # The failure the trigger reports fails the resumed try, naming the task.
    wait_db.run(f"UPDATE {table} SET state = 'failed'")
    wait_db.run(f"INSERT INTO {table} VALUES ('running')")
    with pytest.raises(HeadwaterError, match=r"task 'wait': SQL condition on 'db': .*'failed'"):
        sensor.execute_complete(dict(CONTEXT), event=fire(deferred))


def test_sql_sensor_refuses_parameters_the_triggerer_cannot_store(wait_db: WaitDb) -> None:
    table = wait_db.table("t")
    wait_db.run(f"CREATE TABLE {table} (at TIMESTAMP)")
    sensor = _sensor(
        SqlSensor,
        conn_id="db",
        sql=f"SELECT count(*) FROM {table} WHERE at > {wait_db.placeholder}",
        parameters=[DAY],
        deferrable=True,
    )
    with pytest.raises(HeadwaterError, match="task 'wait': parameters must be JSON values"):
        sensor.execute(dict(CONTEXT))


def test_http_sensor_defers_on_an_http_trigger(scripted_api: ScriptedApi) -> None:
    from headwater.secrets import use_metastore
    from headwater.store.memory import MemoryStore

    store = MemoryStore()
    store.set_connection(scripted_api.connection())
    scripted_api.script("/job", [(404, {}), (200, {"state": "running"}), (200, {"state": "done"})])
    sensor = _sensor(
        HttpSensor,
        http_conn_id="api",
        endpoint="job",
        response_check=ResponseCondition(json_path="state", equals="done"),
        deferrable=True,
        poke_interval=0.01,
    )
    with use_metastore(store):
        deferred = deferral(sensor)  # the first check, in the worker: 404
        assert deferred.trigger.serialize()[1]["response_check"] == {
            "status_codes": [],
            "json_path": "state",
            "equals": "done",
        }
        event = fire(deferred)
    assert event == {"status": "success", "status_code": 200}
    assert scripted_api.asked == ["/job"] * 3
    assert sensor.execute_complete(dict(CONTEXT), event=event) is None
    with pytest.raises(HeadwaterError, match="task 'wait': HttpResponseError: GET"):
        sensor.execute_complete(
            dict(CONTEXT), event={"status": "error", "message": "HttpResponseError: GET ..."}
        )
