"""Sensors: tasks that wait for a condition (``docs/data-aware.md``).

The SQL and HTTP sensors are imported on first use: their clients cost DAG files that never
use them."""

from typing import TYPE_CHECKING, Any

from headwater.sensors.base import BaseSensorOperator, PokeReturnValue
from headwater.sensors.bash import BashSensor
from headwater.sensors.date_time import DateTimeSensor, DateTimeSensorAsync
from headwater.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor
from headwater.sensors.filesystem import FileSensor
from headwater.sensors.python import PythonSensor
from headwater.sensors.time_delta import TimeDeltaSensor, TimeDeltaSensorAsync
from headwater.sensors.time_of_day import DayOfWeekSensor, TimeSensor, TimeSensorAsync

if TYPE_CHECKING:
    from headwater.sensors.http import HttpSensor
    from headwater.sensors.sql import SqlSensor
    from headwater.triggers.http import ResponseCondition

__all__ = [
    "BaseSensorOperator",
    "BashSensor",
    "DateTimeSensor",
    "DateTimeSensorAsync",
    "DayOfWeekSensor",
    "ExternalTaskMarker",
    "ExternalTaskSensor",
    "FileSensor",
    "HttpSensor",
    "PokeReturnValue",
    "PythonSensor",
    "ResponseCondition",
    "SqlSensor",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "TimeSensor",
    "TimeSensorAsync",
]

_LAZY = {
    "HttpSensor": "headwater.sensors.http",
    "ResponseCondition": "headwater.triggers.http",
    "SqlSensor": "headwater.sensors.sql",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headwater.sensors' has no attribute {name!r}")
