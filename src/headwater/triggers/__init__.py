"""Triggers: what deferred tasks wait on, run by the triggerer (``docs/data-aware.md``)."""

from headwater.triggers.base import BaseTrigger, TriggerEvent

__all__ = ["BaseTrigger", "TriggerEvent"]
