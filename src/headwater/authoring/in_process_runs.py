"""What ``DAG.test()`` runs a DAG with, named here so that authoring imports no layer above it.

Running a DAG needs the engine, a store and the task runtime, all layers above authoring.
So authoring only declares the runner it calls and what that runner returns; the package
root (``headwater/__init__.py``, which wires the layers together) registers
:func:`headwater.testing.run_dag`, imported when a DAG is first tested.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


class RunResult(Protocol):
    """What ``DAG.test()`` returns (it is a :class:`headwater.testing.DagRunResult`)."""

    @property
    def state(self) -> str:
        """The run's final state (``"success"`` or ``"failed"``)."""
        ...

    @property
    def succeeded(self) -> bool: ...

    @property
    def task_states(self) -> dict[str, str]:
        """``{"extract": "success", "load[0]": "failed", ...}``."""
        ...

    def state_of(self, task_id: str, map_index: int = -1) -> str: ...

    def xcom(self, task_id: str, key: str = "return_value", map_index: int | None = None) -> Any:
        """The value ``task_id`` pushed; for a mapped task without ``map_index``, all of them."""
        ...

    def log(self, task_id: str, map_index: int = -1, try_number: int | None = None) -> str: ...


Runner = Callable[..., RunResult]
"""``runner(dag, logical_date=..., conf=..., **kwargs)``: run ``dag`` once, in this process."""

_runner: Runner | None = None


def set_runner(runner: Runner) -> None:
    """Say what ``DAG.test()`` runs a DAG with (the package root does, once)."""
    global _runner
    _runner = runner


def run_in_process(dag: DAG, **kwargs: Any) -> RunResult:
    """Run ``dag`` with the registered runner."""
    if _runner is None:
        raise HeadwaterError("DAG.test() has no runner: import headwater to register it")
    return _runner(dag, **kwargs)
