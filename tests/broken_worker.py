"""A worker function that loads in the scheduler's process but not in a worker process:
the start-up failure of a worker, for real, without mocking the executor.

``broken_worker:run`` resolves through the module's ``__getattr__``, which raises when
called in a ``multiprocessing`` child (the worker), whatever imported the module first.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState

FAILURE = "this worker function refuses to load in a worker process"


def _run(payload: Any) -> AttemptOutcome:
    return AttemptOutcome(TaskInstanceState.SUCCESS)


def __getattr__(name: str) -> Any:
    if name != "run":
        raise AttributeError(name)
    if multiprocessing.parent_process() is not None:
        raise RuntimeError(FAILURE)
    return _run
