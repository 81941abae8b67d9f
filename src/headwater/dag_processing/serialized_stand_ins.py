"""What a DAG rebuilt from its serialized form has in place of code: stand-ins that keep
every setting the engine reads but cannot run.

A task becomes an instance of a stand-in operator class that reports the original
operator's name (``@task``, ``BashOperator``) and raises if executed: workers import the DAG
file to run a task. A callback that is set becomes a stand-in that raises the same way, so
``dag.on_failure_callback is not None`` still says one exists.
:func:`~headwater.dag_processing.serialized_dag.deserialize_dag` builds DAGs with them.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from headwater.authoring.operator import BaseOperator
from headwater.dag_processing.serialized_errors import SerializedDagError

__all__ = ["operator_class", "unavailable_callback"]


class _SerializedOperator(BaseOperator):
    """A task rebuilt from JSON: its settings and dependencies, but no code to run."""

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = multiple_outputs

    def execute(self, context: dict[str, Any]) -> Any:
        dag = self.dag
        where = f" ({dag.fileloc})" if dag is not None else ""
        raise SerializedDagError(
            f"task {self.task_id!r} was rebuilt from a serialized DAG and cannot run; "
            f"workers import the DAG file{where} to run it"
        )


@functools.cache
def operator_class(operator_name: str) -> type[_SerializedOperator]:
    """A stand-in class that reports the original operator's name (``@task``, ``BashOperator``).

    Commands name a task's operator by its class's ``custom_operator_name``, so each name
    gets its own (cached) subclass.
    """
    namespace = {"custom_operator_name": operator_name, "__module__": __name__}
    return cast(
        type[_SerializedOperator], type("SerializedOperator", (_SerializedOperator,), namespace)
    )


def unavailable_callback(context: dict[str, Any]) -> None:
    """Stands in for a callback of a rebuilt DAG, so that ``callback is not None`` still holds."""
    raise SerializedDagError(
        "a callback of a DAG rebuilt from its serialized form cannot run; "
        "run it where the DAG file is imported"
    )
