"""References to values that tasks return (XCom), passed into other tasks at authoring time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from headwater.authoring.dependencies import DependencyMixin

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator

RETURN_VALUE = "return_value"


class XComArg(DependencyMixin):
    """The value task ``operator`` will push under ``key``, resolved when a consumer runs.

    Passing a reference into another task makes that task downstream of ``operator``.
    ``ref["name"]`` refers to one key of a task with ``multiple_outputs``. ``map_index``
    pins the reference to one instance of a mapped task (a task of a mapped task group reads
    its group neighbours at its own index); ``None`` reads them all.
    """

    def __init__(
        self, operator: BaseOperator, key: str = RETURN_VALUE, *, map_index: int | None = None
    ) -> None:
        self._operator = operator
        self.key = key
        self.map_index = map_index

    @property
    def operator(self) -> BaseOperator:
        """The task this refers to: when a mapped task group has replaced the task by its
        mapped form (:mod:`headwater.authoring.mapped_task_group`), that form, so references
        taken inside the group function see the task as mapped."""
        operator = self._operator
        dag = operator.dag
        if dag is not None:
            current = dag.task_dict.get(operator.task_id)
            if current is not None and getattr(current, "template", None) is operator:
                return current
        return operator

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key, map_index=self.map_index)

    def _upstream_endpoints(self) -> list[BaseOperator]:
        return [self.operator]

    def _downstream_endpoints(self) -> list[BaseOperator]:
        return [self.operator]

    def as_setup(self) -> XComArg:
        """Make the task a setup task (:meth:`BaseOperator.as_setup`)."""
        self.operator.as_setup()
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> XComArg:
        """Make the task a teardown task (:meth:`BaseOperator.as_teardown`)."""
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> XComArg:
        self.operator.__enter__()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.operator.__exit__(exc_type, *exc)

    # TaskFlow users often write `ref.expand(...)`-like code on the *task*, not on the
    # reference; these keep the common `.task_id` / `.output` introspection working.
    @property
    def task_id(self) -> str:
        return self.operator.task_id

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"the output of task {self.operator.task_id!r} is not known while the DAG is being "
            "defined; pass the reference to a task, or map over it with .expand()"
        )

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        index = "" if self.map_index is None else f", map_index={self.map_index}"
        return f"XComArg({self.operator.task_id!r}, key={self.key!r}{index})"


def iter_xcom_args(value: Any) -> Iterator[XComArg]:
    """Every reference nested in ``value`` (lists, tuples, sets and dict values)."""
    if isinstance(value, XComArg):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from iter_xcom_args(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_xcom_args(item)
