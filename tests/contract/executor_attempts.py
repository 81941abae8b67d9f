"""The attempt bodies the executor contract runs, the same for every executor.

A body is a plain function of keyword arguments (paths as text) that says what it did with
files, never with timing: ``succeed`` appends a line to ``marker`` (so a second run shows),
``fail`` raises, ``hold`` writes its pid to ``ready`` and waits for ``release`` to exist.
The in-process executor runs them as a ``PythonOperator``'s callable through the real task
runtime; :func:`run_in_worker` is the local executor's worker function, which runs them in
a worker process from the JSON payload ``[body, kwargs]``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState

HOLD_LIMIT_S = 60.0
"""How long ``hold`` waits for its release at most, so a broken test never hangs a worker."""


def succeed(marker: str) -> str:
    with open(marker, "a") as out:
        out.write(f"ran in {os.getpid()}\n")
    return "done"


def fail(message: str) -> None:
    raise ValueError(message)


def hold(ready: str, release: str) -> str:
    # Written whole, then renamed: whoever sees the file sees the pid in it.
    Path(ready + ".tmp").write_text(str(os.getpid()))
    os.replace(ready + ".tmp", ready)
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"


BODIES: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in (succeed, fail, hold)}


def run_in_worker(payload: list[Any]) -> AttemptOutcome:
    """The local executor's worker function: run body ``payload[0]`` with ``payload[1]``.
    An exception escapes to the worker, which reports it as the attempt's failure."""
    body, kwargs = payload
    returned = BODIES[body](**kwargs)
    return AttemptOutcome(TaskInstanceState.SUCCESS, rendered_fields={"returned": returned})
