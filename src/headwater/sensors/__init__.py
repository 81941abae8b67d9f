"""Sensors: tasks that wait for a condition (``docs/data-aware.md``)."""

from headwater.sensors.base import BaseSensorOperator, PokeReturnValue

__all__ = ["BaseSensorOperator", "PokeReturnValue"]
