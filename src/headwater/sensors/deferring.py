"""What the built-in deferrable sensors share: how they defer, and how they read the event
they resume with."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

from headwater.sensors.base import BaseSensorOperator
from headwater.triggers.base import BaseTrigger

RESUME_METHOD = "execute_complete"
"""The method a deferred built-in sensor resumes in (Airflow's name)."""


def defer_sensor(sensor: BaseSensorOperator, trigger: BaseTrigger) -> NoReturn:
    """End the attempt deferred on ``trigger`` for at most the sensor's ``timeout`` (a
    sensor whose timeout is zero times out at once instead: it has no time left to wait)."""
    if sensor.timeout <= timedelta(0):
        sensor.time_out(timedelta(0))
    sensor.defer(trigger=trigger, method_name=RESUME_METHOD, timeout=sensor.timeout)


def event_error(event: Any) -> str | None:
    """The message of an error event (``{"status": "error", "message": ...}``), else None."""
    if isinstance(event, dict) and event.get("status") == "error":
        return str(event.get("message") or "the trigger reported an error")
    return None
