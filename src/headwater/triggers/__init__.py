"""Triggers: what deferred tasks wait on, run by the triggerer (``docs/data-aware.md``).

The SQL and HTTP triggers are imported on first use: their clients cost DAG files that
never use them."""

from typing import TYPE_CHECKING, Any

from headwater.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent, build_trigger
from headwater.triggers.external_task import DagStateTrigger, WorkflowTrigger
from headwater.triggers.file import DirectoryFileDeleteTrigger, FileDeleteTrigger, FileTrigger
from headwater.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

if TYPE_CHECKING:
    from headwater.triggers.http import HttpTrigger, ResponseCondition
    from headwater.triggers.sql import SqlTrigger

__all__ = [
    "BaseEventTrigger",
    "BaseTrigger",
    "DagStateTrigger",
    "DateTimeTrigger",
    "DirectoryFileDeleteTrigger",
    "FileDeleteTrigger",
    "FileTrigger",
    "HttpTrigger",
    "ResponseCondition",
    "SqlTrigger",
    "TimeDeltaTrigger",
    "TriggerEvent",
    "WorkflowTrigger",
    "build_trigger",
]

_LAZY = {
    "HttpTrigger": "headwater.triggers.http",
    "ResponseCondition": "headwater.triggers.http",
    "SqlTrigger": "headwater.triggers.sql",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headwater.triggers' has no attribute {name!r}")
