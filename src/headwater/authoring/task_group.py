"""Task groups: a named box of tasks whose ids it prefixes, usable as one dependency endpoint.

``@task_group`` turns a function that makes tasks into a group factory; ``.expand()`` on it
makes a mapped task group (:mod:`headwater.authoring.mapped_task_group`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from headwater.authoring import _definition_stacks
from headwater.authoring.dependencies import DependencyMixin
from headwater.authoring.operator_arguments import validate_task_id
from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.mapping import ExpandInput
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
        self.expand_input: ExpandInput | None = None
        """What a mapped group maps over (``@task_group`` ... ``.expand()``); None otherwise."""
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

    def __exit__(self, exc_type: object, *exc: object) -> None:
        _definition_stacks.pop_group()
        if self.expand_input is not None and exc_type is None:
            from headwater.authoring.mapped_task_group import map_group_tasks

            map_group_tasks(self)

    @property
    def is_mapped(self) -> bool:
        """Whether the group is mapped: each of its tasks runs once per element of its input."""
        return self.expand_input is not None

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


class TaskGroupFunction(Generic[P, R]):
    """A function made into a task group factory by ``@task_group``.

    Calling it builds the group once; ``.expand(arg=[...])`` (or ``.partial(...).expand(...)``,
    ``.expand_kwargs([...])``) builds a mapped group, whose tasks run once per element.
    Both return what the function returned (a task's reference feeds later tasks), else the
    group.
    """

    def __init__(
        self,
        function: Callable[P, R],
        group_kwargs: dict[str, Any],
        partial_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.function = function
        self.group_kwargs = group_kwargs
        self.partial_kwargs = dict(partial_kwargs or {})
        functools.update_wrapper(self, function)

    @property
    def _group_id(self) -> str:
        return str(self.group_kwargs.get("group_id") or self.function.__name__)

    def _build(
        self, expand_input: ExpandInput | None, arguments: Callable[[TaskGroup], Any]
    ) -> Any:
        kwargs = {k: v for k, v in self.group_kwargs.items() if k != "group_id"}
        if not kwargs.get("tooltip") and self.function.__doc__:
            kwargs["tooltip"] = inspect.cleandoc(self.function.__doc__)
        with TaskGroup(_unique_group_id(self._group_id), **kwargs) as group:
            if expand_input is not None:
                from headwater.authoring.mapped_task_group import check_not_nested

                group.expand_input = expand_input
                check_not_nested(group)
            args, call_kwargs = arguments(group)
            result = self.function(*args, **call_kwargs)
        if result is None:
            return group
        if expand_input is not None and group.dag is not None:  # the task, as its group maps it
            replaced = group.dag.task_dict.get(getattr(result, "task_id", ""))
            if getattr(replaced, "template", None) is result:
                return replaced
        return result

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        return self._build(None, lambda group: (args, {**self.partial_kwargs, **kwargs}))

    def override(self, **group_kwargs: Any) -> TaskGroupFunction[P, R]:
        """A copy with other ``TaskGroup`` arguments (``group_id``, ``tooltip``...)."""
        return TaskGroupFunction(
            self.function, {**self.group_kwargs, **group_kwargs}, self.partial_kwargs
        )

    def _parameters(self) -> dict[str, inspect.Parameter]:
        return dict(inspect.signature(self.function).parameters)

    def _check_names(self, what: str, names: Any) -> None:
        parameters = self._parameters()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return
        for name in names:
            if name not in parameters:
                raise DagDefinitionError(
                    f"task group {self._group_id!r}: {what} got argument {name!r}, which "
                    f"{self.function.__name__}({', '.join(parameters)}) does not take"
                )

    def partial(self, **kwargs: Any) -> TaskGroupFunction[P, R]:
        """Fix arguments that every map index shares; follow with ``.expand()``."""
        self._check_names("partial()", kwargs)
        both = sorted(set(kwargs) & set(self.partial_kwargs))
        if both:
            raise DagDefinitionError(
                f"task group {self._group_id!r}: partial() got {', '.join(map(repr, both))} twice"
            )
        return TaskGroupFunction(
            self.function, self.group_kwargs, {**self.partial_kwargs, **kwargs}
        )

    def expand(self, **kwargs: Any) -> Any:
        """Build a mapped group: one run of its tasks per element (the cross product over
        several arguments). Example: ``process.expand(path=list_files())``."""
        from headwater.authoring.mapping import DictOfListsExpandInput, MappedArgument

        if not kwargs:
            raise DagDefinitionError(
                f"task group {self._group_id!r}: expand() needs at least one argument"
            )
        self._check_names("expand()", kwargs)
        both = sorted(set(kwargs) & set(self.partial_kwargs))
        if both:
            raise DagDefinitionError(
                f"task group {self._group_id!r}: expand() maps over "
                f"{', '.join(map(repr, both))}, already given to partial()"
            )
        self._check_complete(set(kwargs))
        expand_input = DictOfListsExpandInput(kwargs, f"task group {self._group_id!r}")

        def arguments(group: TaskGroup) -> Any:
            mapped = {name: MappedArgument(group, name) for name in kwargs}
            return (), {**self.partial_kwargs, **mapped}

        return self._build(expand_input, arguments)

    def expand_kwargs(self, value: Any) -> Any:
        """Build a mapped group with one run per dict of arguments (a list, or a task's
        output that is one)."""
        from headwater.authoring.mapping import ListOfDictsExpandInput, MappedArgument

        parameters = self._parameters()
        if any(
            p.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
            for p in parameters.values()
        ):
            raise DagDefinitionError(
                f"task group {self._group_id!r}: expand_kwargs() needs a function without "
                "*args or **kwargs"
            )
        if isinstance(value, list | tuple):
            for element in value:
                if isinstance(element, dict):
                    self._check_names("expand_kwargs()", element)
        expand_input = ListOfDictsExpandInput(value, f"task group {self._group_id!r}")
        names = [n for n in parameters if n not in self.partial_kwargs]

        def arguments(group: TaskGroup) -> Any:
            mapped = {
                n: MappedArgument(group, n, parameters[n].default)
                if parameters[n].default is not inspect.Parameter.empty
                else MappedArgument(group, n)
                for n in names
            }
            return (), {**self.partial_kwargs, **mapped}

        return self._build(expand_input, arguments)

    def _check_complete(self, mapped: set[str]) -> None:
        for name, parameter in self._parameters().items():
            if parameter.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
                continue
            given = name in mapped or name in self.partial_kwargs
            if not given and parameter.default is inspect.Parameter.empty:
                raise DagDefinitionError(
                    f"task group {self._group_id!r}: argument {name!r} is given neither to "
                    "partial() nor to expand()"
                )


@overload
def task_group(python_callable: Callable[P, R]) -> TaskGroupFunction[P, R]: ...
@overload
def task_group(
    python_callable: None = None, *, group_id: str | None = None, **kwargs: Any
) -> Callable[[Callable[P, R]], TaskGroupFunction[P, R]]: ...


def task_group(
    python_callable: Callable[..., Any] | None = None,
    *,
    group_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Turn a function that creates tasks into a task group; calling it builds the group,
    ``.expand(...)`` builds a mapped one.

    Example::

        @task_group
        def clean(raw):
            return dedupe(normalise(raw))

        clean.expand(raw=list_files())   # one clean-up per file
    """

    def decorate(fn: Callable[P, R]) -> TaskGroupFunction[P, R]:
        return TaskGroupFunction(fn, {"group_id": group_id, **kwargs})

    if python_callable is not None:
        return decorate(python_callable)
    return decorate
