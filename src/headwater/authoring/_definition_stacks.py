"""The stacks of DAGs and task groups being defined by ``with`` blocks (private).

Also the hook the DAG loader uses to find every DAG built while a file is imported, bound
to a module-level name or not (as Airflow does since 2.4).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.task_group import TaskGroup

_dag_stack: list[DAG] = []
_group_stack: list[TaskGroup] = []
_dag_collectors: list[list[DAG]] = []


def push_dag(dag: DAG) -> None:
    _dag_stack.append(dag)


def pop_dag() -> None:
    _dag_stack.pop()


def current_dag() -> DAG | None:
    return _dag_stack[-1] if _dag_stack else None


def dag_created(dag: DAG) -> None:
    """Called by every new DAG: record it for the innermost :func:`collecting_dags` block."""
    if _dag_collectors:
        _dag_collectors[-1].append(dag)


@contextlib.contextmanager
def collecting_dags() -> Iterator[list[DAG]]:
    """Yield a list that receives every DAG created inside the block, in creation order."""
    created: list[DAG] = []
    _dag_collectors.append(created)
    try:
        yield created
    finally:
        _dag_collectors.pop()


def push_group(group: TaskGroup) -> None:
    _group_stack.append(group)


def pop_group() -> None:
    _group_stack.pop()


def current_group(dag: DAG | None) -> TaskGroup | None:
    """The innermost open task group that belongs to ``dag``."""
    for group in reversed(_group_stack):
        if group.dag is dag:
            return group
    return None


_detached_depth = 0


class detached:
    """Temporarily clear the DAG and group stacks, and leave references in template fields
    unwired: to build the instances of a mapped task, outside any DAG (the mapped task has
    the edges already; wiring them again would add the instance to the upstream's DAG)."""

    def __enter__(self) -> None:
        global _detached_depth
        self._saved = (_dag_stack[:], _group_stack[:])
        _dag_stack.clear()
        _group_stack.clear()
        _detached_depth += 1

    def __exit__(self, *exc: object) -> None:
        global _detached_depth
        _detached_depth -= 1
        _dag_stack[:] = self._saved[0]
        _group_stack[:] = self._saved[1]


def wiring_references() -> bool:
    """Whether a new operator makes the tasks its template fields refer to its upstreams."""
    return _detached_depth == 0
