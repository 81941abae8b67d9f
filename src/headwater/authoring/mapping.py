"""Dynamic task mapping: ``.partial(...)``, ``.expand(...)`` and ``.expand_kwargs(...)``.

A mapped task is one task in the DAG; when it becomes ready, the engine resolves its
expand input (literal lists or upstream outputs) and creates one task instance per
element, each with a ``map_index``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.authoring import _definition_stacks
from headwater.authoring.operator import BaseOperator
from headwater.authoring.operator_defaults import BASE_DEFAULTS
from headwater.authoring.xcom_arg import XComArg, iter_xcom_args
from headwater.exceptions import MappingError

if TYPE_CHECKING:
    from headwater.authoring.task_group import TaskGroup

Resolver = Callable[[XComArg], Any]

_NO_DEFAULT: Any = object()


class MappedArgument:
    """One argument of a mapped task group's function: a different value at each map index
    (see :mod:`headwater.authoring.mapped_task_group`).

    Pass it to tasks of the group (as a task argument or inside a template field); its
    value is known when a task instance runs.
    """

    def __init__(self, group: TaskGroup, name: str, default: Any = _NO_DEFAULT) -> None:
        self.group = group
        self.name = name
        self.default = default

    def value_in(self, arguments: Mapping[str, Any]) -> Any:
        """This argument's value among one map index's ``arguments``."""
        if self.name in arguments:
            return arguments[self.name]
        if self.default is not _NO_DEFAULT:
            return self.default
        raise MappingError(
            f"task group {self.group.group_id!r}: argument {self.name!r} has no value at this "
            f"map index (its element has {sorted(arguments)})"
        )

    def __iter__(self) -> Any:
        raise TypeError(
            f"argument {self.name!r} of mapped task group {self.group.group_id!r} has one value "
            "per map index, known when a task runs; pass it to a task of the group"
        )

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.name!r})"


class ResolvedValue:
    """A mapped value that came from another task's output: passed on as is, never templated."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"ResolvedValue({self.value!r})"


def unwrap(value: Any) -> Any:
    return value.value if isinstance(value, ResolvedValue) else value


def _check_mappable(name: str, value: Any, owner: str) -> None:
    if isinstance(value, XComArg):
        return
    if isinstance(value, MappedArgument):
        raise MappingError(
            f"{owner}: cannot map over {name}: it is argument {value.name!r} of mapped task "
            f"group {value.group.group_id!r}, and headwater does not map a task or group inside "
            "a mapped task group; pass the argument to the task without .expand()"
        )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | Mapping):
        raise MappingError(
            f"{owner}: cannot map over {name}={value!r}; "
            "expand() takes a list, a dict or a task's output"
        )


def _owner(task_id: str) -> str:
    """How errors name what maps: ``task 'x'``, or ``task group 'g'`` for a group's id."""
    return task_id if task_id.startswith("task group ") else f"task {task_id!r}"


def _resolved_items(name: str, value: Any, resolve: Resolver, task_id: str) -> list[Any]:
    from_task = isinstance(value, XComArg)
    if from_task:
        value = resolve(value)
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise MappingError(
            f"{_owner(task_id)}: cannot map over {name}: the value is a "
            f"{type(value).__name__} ({value!r:.80}), not a list or dict"
        )
    else:
        items = list(value)
    return [ResolvedValue(item) for item in items] if from_task else items


class ExpandInput:
    """What a mapped task maps over."""

    def references(self) -> list[XComArg]:
        raise NotImplementedError

    def sources(self) -> list[XComArg]:
        """The upstream outputs without which the instances cannot be built.

        A whole list (or dict) mapped over, or one dict of ``expand_kwargs``; empty when the
        instances follow from literal values (``expand(x=[1, 2])``).
        """
        raise NotImplementedError

    def resolve(self, resolve: Resolver, task_id: str) -> list[dict[str, Any]]:
        """The keyword arguments of each mapped instance, in map-index order."""
        raise NotImplementedError


class DictOfListsExpandInput(ExpandInput):
    """``expand(a=[1, 2], b=[3, 4])``: the cross product of every keyword's values."""

    def __init__(self, value: dict[str, Any], task_id: str) -> None:
        if not value:
            raise MappingError(f"{_owner(task_id)}: expand() needs at least one keyword argument")
        for name, item in value.items():
            _check_mappable(name, item, _owner(task_id))
        self.value = value

    def references(self) -> list[XComArg]:
        return list(iter_xcom_args(self.value))

    def sources(self) -> list[XComArg]:
        return [v for v in self.value.values() if isinstance(v, XComArg)]

    def resolve(self, resolve: Resolver, task_id: str) -> list[dict[str, Any]]:
        names = list(self.value)
        columns = [_resolved_items(n, self.value[n], resolve, task_id) for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]


class ListOfDictsExpandInput(ExpandInput):
    """``expand_kwargs([{"a": 1}, {"a": 2}])``: one instance per dict."""

    def __init__(self, value: Any, task_id: str) -> None:
        _check_mappable("expand_kwargs", value, _owner(task_id))
        self.value = value

    def references(self) -> list[XComArg]:
        return list(iter_xcom_args(self.value))

    def sources(self) -> list[XComArg]:
        if isinstance(self.value, XComArg):
            return [self.value]
        # Each dict may itself come from a task: [{"a": 1}, other_task()].
        return [v for v in self.value if isinstance(v, XComArg)]

    def resolve(self, resolve: Resolver, task_id: str) -> list[dict[str, Any]]:
        items = _resolved_items("expand_kwargs", self.value, resolve, task_id)
        out = []
        for index, element in enumerate(items):
            from_task = isinstance(element, ResolvedValue | XComArg)
            item = resolve(element) if isinstance(element, XComArg) else unwrap(element)
            if not isinstance(item, Mapping):
                raise MappingError(
                    f"{_owner(task_id)}: expand_kwargs() element {index} is "
                    f"{type(item).__name__}, not a dict"
                )
            out.append({k: ResolvedValue(v) if from_task else v for k, v in item.items()})
        return out


class OperatorPartial:
    """Arguments shared by all mapped instances; call ``.expand()`` to create the task."""

    def __init__(
        self,
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
        *,
        mapped_field: str | None = None,
    ) -> None:
        if "task_id" not in kwargs:
            raise MappingError(f"{operator_class.__name__}.partial() needs a task_id")
        self.operator_class = operator_class
        self.kwargs = kwargs
        self.mapped_field = mapped_field

    def expand(self, **mapped: Any) -> MappedOperator:
        task_id = self.kwargs["task_id"]
        return MappedOperator(self, DictOfListsExpandInput(mapped, task_id))

    def expand_kwargs(self, kwargs: Any) -> MappedOperator:
        task_id = self.kwargs["task_id"]
        return MappedOperator(self, ListOfDictsExpandInput(kwargs, task_id))


class MappedOperator(BaseOperator):
    """A task that runs once per element of its expand input."""

    def __init__(self, partial: OperatorPartial, expand_input: ExpandInput) -> None:
        base_kwargs = {k: v for k, v in partial.kwargs.items() if k in BASE_DEFAULTS}
        for key in ("task_id", "dag", "task_group", "task_display_name"):
            if key in partial.kwargs:
                base_kwargs[key] = partial.kwargs[key]
        super().__init__(**base_kwargs)
        self.operator_class = partial.operator_class
        self.partial_kwargs = {
            k: v for k, v in partial.kwargs.items() if k not in ("task_id", "dag", "task_group")
        }
        self.mapped_field = partial.mapped_field
        self.expand_input = expand_input
        self.template_fields = partial.operator_class.template_fields
        for ref in expand_input.references():
            ref.operator.set_downstream(self)
        for ref in iter_xcom_args(self.partial_kwargs):
            ref.operator.set_downstream(self)

    def _after_init(self) -> None:
        """References were wired in ``__init__``."""

    @property
    def is_mapped(self) -> bool:
        return True

    def source_task_ids(self) -> list[str]:
        """The upstream tasks whose outputs this task's instances are made from, if any."""
        return list(dict.fromkeys(ref.operator.task_id for ref in self.expand_input.sources()))

    def unmap(self, mapped_kwargs: dict[str, Any]) -> BaseOperator:
        """Build the concrete operator for one map index (never attached to the DAG).

        Values from other tasks stay wrapped in :class:`ResolvedValue` only inside template
        fields, where rendering unwraps them without templating them (as in Airflow).
        """
        templated = set(self.operator_class.template_fields)
        target = self.mapped_field
        mapped_kwargs = {
            k: v if (target or k) in templated else unwrap(v) for k, v in mapped_kwargs.items()
        }
        kwargs = dict(self.partial_kwargs)
        if self.mapped_field is not None:
            merged = dict(kwargs.get(self.mapped_field) or {})
            merged.update(mapped_kwargs)
            kwargs[self.mapped_field] = merged
        else:
            kwargs.update(mapped_kwargs)
        with _definition_stacks.detached():
            operator = self.operator_class(task_id=self.task_id.rsplit(".", 1)[-1], **kwargs)
        operator.task_id = self.task_id
        for name in BASE_DEFAULTS:  # the mapped task's settings (default_args included) win
            setattr(operator, name, getattr(self, name))
        operator.dag = self.dag
        operator.task_group = self.task_group
        operator._upstream_ids = self._upstream_ids
        operator._downstream_ids = self._downstream_ids
        return operator

    def execute(self, context: dict[str, Any]) -> Any:
        raise MappingError(f"mapped task {self.task_id!r} runs through its unmapped instances")
