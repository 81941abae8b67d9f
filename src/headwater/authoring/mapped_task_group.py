"""Mapped task groups: ``@task_group`` functions expanded with ``.expand()`` (Airflow 2.5+).

A mapped group runs all of its tasks once per element of its expand input. The group
function is called once, while the DAG is defined, with a :class:`MappedArgument` for each
mapped argument; when the group closes, every task made inside it becomes a
:class:`GroupMappedOperator`, a mapped task whose instances share the group's length and
whose instance ``i`` gets element ``i`` of the group's input. The engine
(:mod:`headwater.engine.mapped_groups`) makes instance ``i`` of a task wait only for
instance ``i`` of its upstream tasks in the same group, and a reference to a task of the
same group resolves to that task's value at the same map index. Tasks downstream of the
group wait for every index, and read a list.

Mapping inside a mapped group (a mapped group in a mapped group, or ``.expand()`` on a task
of a mapped group) is refused with a :class:`~headwater.exceptions.MappingError`.
:class:`~headwater.authoring.mapping.MappedArgument` lives in :mod:`headwater.authoring.mapping`,
which refuses it as an ``.expand()`` input.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.authoring.mapping import (
    ExpandInput,
    MappedArgument,
    MappedOperator,
    ResolvedValue,
    unwrap,
)
from headwater.authoring.xcom_arg import XComArg
from headwater.exceptions import MappingError

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.authoring.task_group import TaskGroup

Resolver = Callable[[XComArg], Any]


class GroupInstanceArguments(dict[str, Any]):
    """The group function's arguments at one map index (``map_index`` says which)."""

    def __init__(self, values: dict[str, Any], map_index: int) -> None:
        super().__init__(values)
        self.map_index = map_index


class GroupExpandInput(ExpandInput):
    """The expand input of a task in a mapped group: its group's, read when resolved (a
    group rebuilt from its serialized form gets its input after its tasks)."""

    def __init__(self, group: TaskGroup) -> None:
        self.group = group

    @property
    def inner(self) -> ExpandInput:
        expand_input = self.group.expand_input
        if expand_input is None:
            raise MappingError(f"task group {self.group.group_id!r} is not mapped")
        return expand_input

    def references(self) -> list[XComArg]:
        return self.inner.references()

    def sources(self) -> list[XComArg]:
        return self.inner.sources()

    def resolve(self, resolve: Resolver, task_id: str) -> list[dict[str, Any]]:
        values = self.inner.resolve(resolve, f"task group {self.group.group_id!r}")
        return [GroupInstanceArguments(v, i) for i, v in enumerate(values)]


def mapped_ancestor(group: TaskGroup | None) -> TaskGroup | None:
    """The nearest mapped group among ``group`` and its parents, if any."""
    while group is not None:
        if group.expand_input is not None:
            return group
        group = group.parent_group
    return None


class GroupMappedOperator(MappedOperator):
    """A task made inside a mapped task group: one instance per element of the group's input.

    It keeps the task as it was built (``template``), with its settings and edges, and builds
    each instance from a copy of it (:meth:`unmap`).
    """

    def __init__(self, template: BaseOperator, group: TaskGroup) -> None:
        # MappedOperator.__init__ is not called: the task is built and wired already.
        self.__dict__.update(template.__dict__)  # its settings, and its very edge dicts
        self.template = template
        self.mapped_group = group
        self.operator_class = type(template)
        self.partial_kwargs = {"multiple_outputs": getattr(template, "multiple_outputs", False)}
        self.mapped_field = None
        self.expand_input = GroupExpandInput(group)
        self.template_fields = tuple(template.template_fields)

    def unmap(self, mapped_kwargs: dict[str, Any]) -> BaseOperator:
        """The task at one map index: the group's arguments in its fields, and references to
        tasks of the same group pinned to the same map index."""
        if not isinstance(mapped_kwargs, GroupInstanceArguments):
            raise MappingError(f"task {self.task_id!r} is mapped by its task group")
        operator = copy.copy(self.template)
        templated = set(self.template_fields)
        for name in templated | {"op_args", "op_kwargs"}:
            value = getattr(operator, name, None)
            if value is None:
                continue
            value = self._substitute(value, mapped_kwargs)
            setattr(operator, name, value if name in templated else _unwrap_all(value))
        return operator

    def _substitute(self, value: Any, arguments: GroupInstanceArguments) -> Any:
        if isinstance(value, MappedArgument):
            return value.value_in(arguments)
        if isinstance(value, XComArg):
            if in_same_mapped_group(value.operator, self):
                return XComArg(value.operator, value.key, map_index=arguments.map_index)
            return value
        if isinstance(value, list):
            return [self._substitute(v, arguments) for v in value]
        if isinstance(value, tuple):
            return tuple(self._substitute(v, arguments) for v in value)
        if isinstance(value, dict):
            return {k: self._substitute(v, arguments) for k, v in value.items()}
        return value


def _unwrap_all(value: Any) -> Any:
    if isinstance(value, ResolvedValue):
        return unwrap(value)
    if isinstance(value, list):
        return [_unwrap_all(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap_all(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap_all(v) for k, v in value.items()}
    return value


def in_same_mapped_group(a: BaseOperator, b: BaseOperator) -> bool:
    """Whether ``a`` and ``b`` are both mapped by the same task group."""
    group = getattr(a, "mapped_group", None)
    return group is not None and group is getattr(b, "mapped_group", None)


def map_group_tasks(group: TaskGroup) -> dict[int, GroupMappedOperator]:
    """Turn every task made inside the mapped ``group`` (nested plain groups included) into
    a :class:`GroupMappedOperator` in its DAG and groups; returns them by ``id()`` of the
    task they replace."""
    dag = group.dag
    assert dag is not None
    assert group.expand_input is not None
    for ref in group.expand_input.references():  # the group starts once its input is there
        ref.operator.set_downstream(group)
    replaced: dict[int, GroupMappedOperator] = {}
    for task in group.iter_tasks():
        if isinstance(task, MappedOperator):
            raise MappingError(
                f"task {task.task_id!r} is mapped (.expand()) inside mapped task group "
                f"{group.group_id!r}: headwater does not map a task inside a mapped task group; "
                "pass the group's argument to the task instead"
            )
        mapped = GroupMappedOperator(task, group)
        dag.task_dict[task.task_id] = mapped  # same key: the DAG's order is kept
        owner = task.task_group
        if owner is not None and owner.children.get(task.task_id) is task:
            owner.children[task.task_id] = mapped
        replaced[id(task)] = mapped
    return replaced


def check_not_nested(group: TaskGroup) -> None:
    """Refuse a mapped group inside another mapped group."""
    outer = mapped_ancestor(group.parent_group)
    if outer is not None:
        raise MappingError(
            f"mapped task group {group.group_id!r} is inside mapped task group "
            f"{outer.group_id!r}: headwater does not map a task group inside a mapped one"
        )
