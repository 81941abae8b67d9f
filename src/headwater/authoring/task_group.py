"""Task groups: a named box of tasks whose ids it prefixes, usable as one dependency endpoint."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from headwater.authoring import _definition_stacks
from headwater.authoring.dependencies import DependencyMixin
from headwater.authoring.operator_arguments import validate_task_id
from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator

P = ParamSpec("P")
R = TypeVar("R")


class TaskGroup(DependencyMixin):
    """Group tasks under an id prefix; ``g1 >> g2`` links g1's leaves to g2's roots.

    Example::

        with TaskGroup("extract") as extract:
            users = fetch_users()      # task id "extract.fetch_users"
    """

    def __init__(
        self,
        group_id: str,
        *,
        dag: DAG | None = None,
        parent_group: TaskGroup | None = None,
        prefix_group_id: bool = True,
        tooltip: str = "",
    ) -> None:
        validate_task_id(group_id, "group_id")
        self.dag = dag if dag is not None else _definition_stacks.current_dag()
        if self.dag is None:
            raise DagDefinitionError(f"task group {group_id!r} must be created inside a DAG")
        parent = (
            parent_group if parent_group is not None else _definition_stacks.current_group(self.dag)
        )
        self.parent_group = parent
        self.group_id = parent.child_id(group_id) if parent is not None else group_id
        self.prefix_group_id = prefix_group_id
        self.tooltip = tooltip
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        if self.group_id in self.dag.task_groups:
            raise DagDefinitionError(
                f"DAG {self.dag.dag_id!r} already has a task group {self.group_id!r}"
            )
        self.dag.task_groups[self.group_id] = self
        if parent is not None:
            parent.children[self.group_id] = self

    def child_id(self, child: str) -> str:
        return f"{self.group_id}.{child}" if self.prefix_group_id else child

    def add(self, task: BaseOperator) -> None:
        self.children[task.task_id] = task

    def __enter__(self) -> TaskGroup:
        _definition_stacks.push_group(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _definition_stacks.pop_group()

    def iter_tasks(self) -> list[BaseOperator]:
        tasks: list[BaseOperator] = []
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                tasks.extend(child.iter_tasks())
            else:
                tasks.append(child)
        return tasks

    def _upstream_endpoints(self) -> list[BaseOperator]:
        # Tasks with no downstream inside the group: the group's leaves.
        tasks = self.iter_tasks()
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not any(d in ids for d in t.downstream_task_ids)]

    def _downstream_endpoints(self) -> list[BaseOperator]:
        tasks = self.iter_tasks()
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not any(u in ids for u in t.upstream_task_ids)]

    def __repr__(self) -> str:
        return f"<TaskGroup {self.group_id}>"


def _unique_group_id(group_id: str) -> str:
    """``group_id``, or ``group_id__N`` when a ``@task_group`` function is called again."""
    dag = _definition_stacks.current_dag()
    if dag is None:
        return group_id
    parent = _definition_stacks.current_group(dag)
    full = parent.child_id(group_id) if parent is not None else group_id
    candidate, n = group_id, 0
    while full in dag.task_groups:
        n += 1
        candidate = f"{group_id}__{n}"
        full = parent.child_id(candidate) if parent is not None else candidate
    return candidate


@overload
def task_group(python_callable: Callable[P, R]) -> Callable[P, TaskGroup]: ...
@overload
def task_group(
    python_callable: None = None, *, group_id: str | None = None, **kwargs: Any
) -> Callable[[Callable[P, R]], Callable[P, TaskGroup]]: ...


def task_group(
    python_callable: Callable[..., Any] | None = None,
    *,
    group_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Turn a function that creates tasks into a task group; calling it builds the group.

    Example::

        @task_group
        def clean(raw):
            return dedupe(normalise(raw))
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., TaskGroup]:
        @functools.wraps(fn)
        def build(*args: Any, **call_kwargs: Any) -> Any:
            with TaskGroup(_unique_group_id(group_id or fn.__name__), **kwargs) as group:
                result = fn(*args, **call_kwargs)
            # Returning the last reference lets `@task_group` results feed later tasks.
            return result if result is not None else group

        return build

    if python_callable is not None:
        return decorate(python_callable)
    return decorate
