"""``@setup`` and ``@teardown``: TaskFlow tasks that are setup or teardown tasks.

Each decorates a plain function (it becomes a ``@task``) or an already decorated one
(``@setup`` over ``@task.bash``). Example::

    @setup
    def create_cluster() -> str: ...

    @teardown
    def delete_cluster(): ...

    with create_cluster() >> delete_cluster():
        train()   # runs after create_cluster; delete_cluster runs after it, failed or not
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar, overload

from headwater.authoring.taskflow import TaskDecorator, task
from headwater.authoring.xcom_arg import XComArg

P = ParamSpec("P")
R = TypeVar("R")


class SetupTeardownDecorator(TaskDecorator[P, R]):
    """A :class:`TaskDecorator` whose tasks are setup (or teardown) tasks."""

    def __init__(
        self,
        decorator: TaskDecorator[P, R],
        role: Literal["setup", "teardown"],
        on_failure_fail_dagrun: bool = False,
    ) -> None:
        super().__init__(
            decorator.function,
            decorator.operator_class,
            decorator.multiple_outputs,
            decorator.operator_kwargs,
        )
        self.role: Literal["setup", "teardown"] = role
        self.on_failure_fail_dagrun = on_failure_fail_dagrun

    def _mark(self, ref: XComArg) -> XComArg:
        if self.role == "setup":
            return ref.as_setup()
        return ref.as_teardown(on_failure_fail_dagrun=self.on_failure_fail_dagrun)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> XComArg:
        return self._mark(super().__call__(*args, **kwargs))

    def override(self, **operator_kwargs: Any) -> SetupTeardownDecorator[P, R]:
        return SetupTeardownDecorator(
            super().override(**operator_kwargs), self.role, self.on_failure_fail_dagrun
        )

    def expand(self, **kwargs: Any) -> XComArg:
        return self._mark(super().expand(**kwargs))

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        return self._mark(super().expand_kwargs(kwargs))


def _as_decorator(fn: Callable[P, R] | TaskDecorator[P, R]) -> TaskDecorator[P, R]:
    if isinstance(fn, TaskDecorator):
        return fn
    made: TaskDecorator[P, R] = task(fn)
    return made


def setup(fn: Callable[P, R] | TaskDecorator[P, R]) -> SetupTeardownDecorator[P, R]:
    """Make a function (or a ``@task``) a setup task: see
    :mod:`headwater.authoring.setup_teardown`."""
    return SetupTeardownDecorator(_as_decorator(fn), "setup")


@overload
def teardown(fn: Callable[P, R] | TaskDecorator[P, R]) -> SetupTeardownDecorator[P, R]: ...
@overload
def teardown(
    fn: None = None, *, on_failure_fail_dagrun: bool = False
) -> Callable[[Callable[P, R] | TaskDecorator[P, R]], SetupTeardownDecorator[P, R]]: ...


def teardown(fn: Any = None, *, on_failure_fail_dagrun: bool = False) -> Any:
    """Make a function (or a ``@task``) a teardown task; ``@teardown(on_failure_fail_dagrun=
    True)`` lets its failure fail the run."""

    def wrap(inner: Any) -> Any:
        return SetupTeardownDecorator(_as_decorator(inner), "teardown", on_failure_fail_dagrun)

    return wrap(fn) if fn is not None else wrap
