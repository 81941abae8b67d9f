"""TaskFlow: ``@task`` turns a function into a task; calling it inside a DAG returns a reference.

Passing a reference to another task creates the dependency, and the value travels between
them at run time. ``@task.bash``, ``@task.branch``, ``@task.short_circuit``,
``@task.virtualenv`` and ``@task.external_python`` are variants.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

from headwater.authoring import _definition_stacks
from headwater.authoring.mapping import MappedOperator, OperatorPartial
from headwater.authoring.xcom_arg import XComArg
from headwater.exceptions import DagDefinitionError
from headwater.operators.bash import BashOperator
from headwater.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
    call_with_context,
)

P = ParamSpec("P")
R = TypeVar("R")

CONTEXT_KEYS: frozenset[str] = frozenset(
    {
        "dag",
        "task",
        "ti",
        "task_instance",
        "dag_run",
        "run_id",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "partition_date",
        "partition_key",
        "params",
        "conf",
        "map_index",
        "try_number",
        "var",
        "conn",
        "macros",
        "outlet_events",
        "inlet_events",
        "triggering_asset_events",
        "task_state_store",
        "asset_state_store",
        # Airflow's keys (filled on first use where they cost a read).
        "task_instance_key_str",
        "inlets",
        "outlets",
        "test_mode",
        "expanded_ti_count",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
        # Airflow 2 names, deprecated: their first use notes the replacement in the log.
        "execution_date",
        "next_execution_date",
        "prev_execution_date",
        "prev_execution_date_success",
        "next_ds",
        "next_ds_nodash",
        "prev_ds",
        "prev_ds_nodash",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
        "triggering_dataset_events",
    }
)
"""The context keys every attempt passes to a task's function by parameter name (those of
:func:`headwater.runtime.attempt_context.build_context`); ``templates_dict`` is one more when the
task has a ``templates_dict``. Such parameters may be left out when the task is called, as in
Airflow's ``def run_me(sleep_seconds, task_instance_key_str)`` called as
``run_me(sleep_seconds=1)``."""


class _DecoratedPythonOperator(PythonOperator):
    """A PythonOperator made by ``@task``; may split a dict return into several XComs."""

    custom_operator_name = "@task"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = multiple_outputs


class _DecoratedBranchOperator(_DecoratedPythonOperator, BranchPythonOperator):
    custom_operator_name = "@task.branch"


class _DecoratedShortCircuitOperator(_DecoratedPythonOperator, ShortCircuitOperator):
    custom_operator_name = "@task.short_circuit"


class _DecoratedBashOperator(BashOperator):
    """``@task.bash``: the function returns the command, which is then rendered and run."""

    template_fields: Sequence[str] = ("op_args", "op_kwargs", "env", "cwd")
    custom_operator_name = "@task.bash"
    rendered_after_execute = ("bash_command",)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        multiple_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.multiple_outputs = multiple_outputs

    def execute(self, context: dict[str, Any]) -> str | None:
        command = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if not isinstance(command, str) or not command.strip():
            raise TypeError(
                f"@task.bash function {self.task_id!r} must return a non-empty command string, "
                f"got {command!r:.80}"
            )
        self.bash_command = context["ti"].render_template(command, context)
        return super().execute(context)


class _BindArguments:
    """Stands in for a task's function to check a call: binds the arguments, runs nothing.

    Passed to :func:`call_with_context`, so the check fills parameters named like context
    keys exactly as an attempt does. Unhashable, so that function never caches it.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, signature: inspect.Signature) -> None:
        self.__signature__ = signature

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.__signature__.bind(*args, **kwargs)


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return None


def _describe(fn: Callable[..., Any], signature: inspect.Signature) -> str:
    """``name(a, b=1, *args, ds)``: the function's parameters, without annotations."""
    empty = inspect.Parameter.empty
    plain = signature.replace(
        parameters=[p.replace(annotation=empty) for p in signature.parameters.values()],
        return_annotation=inspect.Signature.empty,
    )
    return f"{getattr(fn, '__name__', 'function')}{plain}"


def _infer_multiple_outputs(fn: Callable[..., Any]) -> bool:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return False
    ret = hints.get("return")
    origin = typing.get_origin(ret) or ret
    if origin is dict or origin is typing.Dict:  # noqa: UP006
        return True
    return typing.is_typeddict(ret) if ret is not None else False


class TaskDecorator(Generic[P, R]):
    """A function turned into a task factory by ``@task``.

    Call it in a DAG to add a task (returns an :class:`XComArg`); ``.expand()`` maps it;
    ``.override(task_id=..., retries=...)`` changes operator arguments; ``.function`` is the
    plain function, for unit tests.
    """

    def __init__(
        self,
        function: Callable[P, R],
        operator_class: type[Any],
        multiple_outputs: bool | None,
        operator_kwargs: dict[str, Any],
    ) -> None:
        self.function = function
        self.operator_class = operator_class
        self.multiple_outputs = (
            _infer_multiple_outputs(function) if multiple_outputs is None else multiple_outputs
        )
        self.operator_kwargs = operator_kwargs
        functools.update_wrapper(self, function)

    def _task_id(self) -> str:
        base = self.operator_kwargs.get("task_id") or self.function.__name__
        dag = self.operator_kwargs.get("dag") or _definition_stacks.current_dag()
        if dag is None:
            return str(base)
        group = self.operator_kwargs.get("task_group") or _definition_stacks.current_group(dag)
        full = group.child_id(base) if group is not None else base
        unique = dag.unique_task_id(full)
        return unique[len(full) - len(base) :]  # BaseOperator adds the group prefix back

    def _kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.operator_kwargs)
        kwargs["task_id"] = self._task_id()
        kwargs["python_callable"] = self.function
        kwargs["multiple_outputs"] = self.multiple_outputs
        return kwargs

    def _check_arguments(
        self, what: str, args: Sequence[Any], kwargs: dict[str, Any], *, complete: bool = True
    ) -> None:
        """Raise DagDefinitionError unless the function accepts ``args`` and ``kwargs``.

        ``complete``: they must be all its arguments, apart from parameters named like
        context keys, which each attempt fills in. Otherwise only their names are checked
        (``partial()``).
        """
        signature = _signature(self.function)
        if signature is None:
            return
        try:
            signature.bind_partial(*args, **kwargs)  # names that do not fit, before missing ones
            if complete:
                context = dict.fromkeys(CONTEXT_KEYS)
                if self.operator_kwargs.get("templates_dict") is not None:
                    context["templates_dict"] = None
                call_with_context(_BindArguments(signature), args, kwargs, context)
        except TypeError as exc:
            raise DagDefinitionError(
                f"task {self._task_id()!r}: {what} does not fit "
                f"{_describe(self.function, signature)}: {exc}"
            ) from None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> XComArg:
        self._check_arguments("the call", args, kwargs)
        operator = self.operator_class(op_args=list(args), op_kwargs=kwargs, **self._kwargs())
        return XComArg(operator)

    def override(self, **operator_kwargs: Any) -> TaskDecorator[P, R]:
        """A copy with other operator arguments (``task_id``, ``retries``, ``pool``...)."""
        return TaskDecorator(
            self.function,
            self.operator_class,
            self.multiple_outputs,
            {**self.operator_kwargs, **operator_kwargs},
        )

    def partial(self, **kwargs: Any) -> _TaskPartial:
        """Fix some function arguments for every mapped instance."""
        self._check_arguments("partial()", (), kwargs, complete=False)
        return _TaskPartial(self, kwargs)

    def expand(self, **kwargs: Any) -> XComArg:
        """Run one task instance per element (cross product over several keywords)."""
        return self.partial().expand(**kwargs)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        """Run one task instance per dict of function keyword arguments."""
        return self.partial().expand_kwargs(kwargs)


class _TaskPartial:
    def __init__(self, decorator: TaskDecorator[Any, Any], kwargs: dict[str, Any]) -> None:
        self.decorator = decorator
        self.kwargs = kwargs

    def _partial(self) -> OperatorPartial:
        op_kwargs = self.decorator._kwargs()
        op_kwargs["op_kwargs"] = dict(self.kwargs)
        return OperatorPartial(self.decorator.operator_class, op_kwargs, mapped_field="op_kwargs")

    def _check_instance(self, what: str, mapped: Mapping[str, Any]) -> None:
        """The arguments of ``partial()`` and one mapped instance must make a whole call."""
        both = sorted(set(self.kwargs) & set(mapped))
        if both:
            raise DagDefinitionError(
                f"task {self.decorator._task_id()!r}: {what} maps over "
                f"{', '.join(map(repr, both))}, already given to partial()"
            )
        if self.kwargs:
            what = f"partial() plus {what}"
        self.decorator._check_arguments(what, (), {**self.kwargs, **mapped})

    def expand(self, **kwargs: Any) -> XComArg:
        if kwargs:  # else expand() itself says it needs one
            self._check_instance("expand()", kwargs)
        return XComArg(self._partial().expand(**kwargs))

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        # Literal dicts are checked now; those that come from a task when the instance runs.
        if isinstance(kwargs, list | tuple):
            for index, element in enumerate(kwargs):
                if isinstance(element, Mapping):
                    self._check_instance(f"expand_kwargs() element {index}", element)
        mapped: MappedOperator = self._partial().expand_kwargs(kwargs)
        return XComArg(mapped)


def _make_decorator(operator_class: type[Any]) -> Any:
    @overload
    def decorator(python_callable: Callable[P, R]) -> TaskDecorator[P, R]: ...
    @overload
    def decorator(
        python_callable: None = None, *, multiple_outputs: bool | None = None, **kwargs: Any
    ) -> Callable[[Callable[P, R]], TaskDecorator[P, R]]: ...

    def decorator(
        python_callable: Callable[..., Any] | None = None,
        *,
        multiple_outputs: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        def wrap(fn: Callable[P, R]) -> TaskDecorator[P, R]:
            if not callable(fn) or inspect.isclass(fn):
                raise TypeError(f"@task decorates a function, got {fn!r}")
            return TaskDecorator(fn, operator_class, multiple_outputs, kwargs)

        if python_callable is not None:
            return wrap(python_callable)
        return wrap

    return decorator


def _on_first_use(
    class_name: str, module_name: str = "headwater.operators.python_virtualenv"
) -> Any:
    """The decorator of an operator class of ``module_name``, imported when the decorator is
    first used: importing :mod:`headwater.operators.python_virtualenv` (venv cache, hashing,
    temporary files) would add a third to every ``import headwater``, in every DAG file's
    process, and the sensors stay out of it as well."""

    def decorator(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        module = importlib.import_module(module_name)
        operator_class = getattr(module, class_name)
        return _make_decorator(operator_class)(python_callable, **kwargs)

    return decorator


class _TaskFactory:
    """``@task`` and its variants ``@task.bash``, ``@task.branch``, ``@task.short_circuit``,
    ``@task.sensor``, ``@task.virtualenv``, ``@task.external_python``,
    ``@task.branch_virtualenv``, ``@task.branch_external_python``."""

    python = staticmethod(_make_decorator(_DecoratedPythonOperator))
    bash = staticmethod(_make_decorator(_DecoratedBashOperator))
    branch = staticmethod(_make_decorator(_DecoratedBranchOperator))
    short_circuit = staticmethod(_make_decorator(_DecoratedShortCircuitOperator))
    sensor = staticmethod(_on_first_use("DecoratedSensorOperator", "headwater.sensors.decorated"))
    """``@task.sensor(poke_interval=..., timeout=..., mode="reschedule")``: the function is
    the sensor's poke (see :class:`~headwater.sensors.BaseSensorOperator`)."""
    virtualenv = staticmethod(_on_first_use("DecoratedVirtualenvOperator"))
    external_python = staticmethod(_on_first_use("DecoratedExternalPythonOperator"))
    branch_virtualenv = staticmethod(_on_first_use("DecoratedBranchVirtualenvOperator"))
    branch_external_python = staticmethod(_on_first_use("DecoratedBranchExternalPythonOperator"))

    @overload
    def __call__(self, python_callable: Callable[P, R]) -> TaskDecorator[P, R]: ...
    @overload
    def __call__(
        self, python_callable: None = None, *, multiple_outputs: bool | None = None, **kwargs: Any
    ) -> Callable[[Callable[P, R]], TaskDecorator[P, R]]: ...

    def __call__(self, python_callable: Any = None, **kwargs: Any) -> Any:
        return self.python(python_callable, **kwargs)


task = _TaskFactory()
"""Turn a function into a task. Example::

    @task(retries=2)
    def extract() -> list[int]:
        return [1, 2, 3]

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    total(extract())
"""
