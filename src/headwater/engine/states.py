"""The state names of task instances and DAG runs, and which of them are final.

They are declared, with every legal change between them, in
:mod:`headwater.engine.transitions`; this module keeps the names importable from where most
code imports them.
"""

from __future__ import annotations

from headwater.engine.transitions import (
    BUSY_STATES,
    FAILED_STATES,
    FINISHED_RUN_STATES,
    FINISHED_STATES,
    UNFINISHED_STATES,
    DagRunState,
    TaskInstanceState,
)

__all__ = [
    "BUSY_STATES",
    "FAILED_STATES",
    "FINISHED_RUN_STATES",
    "FINISHED_STATES",
    "UNFINISHED_STATES",
    "DagRunState",
    "TaskInstanceState",
]
