"""Sensors: tasks that wait for a condition (``docs/data-aware.md``)."""

from headwater.sensors.base import BaseSensorOperator, PokeReturnValue
from headwater.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor

__all__ = ["BaseSensorOperator", "ExternalTaskMarker", "ExternalTaskSensor", "PokeReturnValue"]
