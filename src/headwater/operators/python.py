"""Operators that call Python: PythonOperator, BranchPythonOperator, ShortCircuitOperator."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError


def call_with_context(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    context: Mapping[str, Any],
) -> Any:
    """Call ``fn``, filling parameters named like context keys (``ds``, ``ti``...) from context.

    A function with ``**kwargs`` receives the whole context in them. An ``async def``
    function runs to its end in an event loop of its own (as Airflow 3.1 runs async Python
    tasks): its result is what it returns, not a coroutine.
    """
    call_kwargs = dict(kwargs)
    params = _parameters(fn)
    positional_taken = {p.name for p in params[: len(args)] if p.kind != p.VAR_POSITIONAL}
    accepts_var_kw = False
    for param in params:
        if param.kind is param.VAR_KEYWORD:
            accepts_var_kw = True
        elif (
            param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
            and param.name in context
            and param.name not in call_kwargs
            and param.name not in positional_taken
        ):
            call_kwargs[param.name] = context[param.name]
    if accepts_var_kw:
        for key, value in context.items():
            call_kwargs.setdefault(key, value)
        for name in positional_taken:
            call_kwargs.pop(name, None)
    result = fn(*args, **call_kwargs)
    if inspect.iscoroutine(result):
        import asyncio  # only async tasks pay for it: a tenth of `import headwater`

        return asyncio.run(result)
    return result


def _parameters(fn: Callable[..., Any]) -> tuple[inspect.Parameter, ...]:
    try:
        return _cached_parameters(fn)
    except TypeError:  # an unhashable callable
        return tuple(inspect.signature(fn).parameters.values())


@functools.lru_cache(maxsize=1024)
def _cached_parameters(fn: Callable[..., Any]) -> tuple[inspect.Parameter, ...]:
    return tuple(inspect.signature(fn).parameters.values())


class PythonOperator(BaseOperator):
    """Call ``python_callable(*op_args, **op_kwargs)``; its return value becomes the XCom.

    Parameters named like context keys (``ds``, ``params``, ``ti``...) are filled in.
    ``templates_dict`` values are rendered and passed as the ``templates_dict`` context key;
    with ``templates_exts=[".sql"]`` a value ending in ``.sql`` is read from a file next to
    the DAG file and rendered.
    """

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#fff7e6"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise DagDefinitionError(
                f"task {self.task_id!r}: python_callable must be callable, got {python_callable!r}"
            )
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = dict(templates_dict) if templates_dict is not None else None
        self.show_return_value_in_logs = show_return_value_in_logs
        if templates_exts is not None:
            self.template_ext = tuple(templates_exts)

    def execute(self, context: dict[str, Any]) -> Any:
        if self.templates_dict is not None:
            context = {**context, "templates_dict": self.templates_dict}
        # The runtime logs "Returned value was: ..." when show_return_value_in_logs is set.
        return call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)


def normalize_branch(result: Any, task_id: str) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [result]
    if isinstance(result, Iterable) and all(isinstance(r, str) for r in result):
        return list(result)
    raise TypeError(
        f"branch task {task_id!r} must return a task id, a list of task ids or None; "
        f"got {result!r:.80}"
    )


class FollowsReturnedBranch(BaseOperator):
    """Mixed into a Python operator: what its callable returns are the task id(s) to
    follow; the other direct downstream tasks are skipped."""

    ui_color = "#ffefeb"

    def execute(self, context: dict[str, Any]) -> Any:
        result = super().execute(context)
        context["ti"].follow_branches(normalize_branch(result, self.task_id))
        return result


class BranchPythonOperator(FollowsReturnedBranch, PythonOperator):
    """Call ``python_callable``; it returns the task id(s) to follow, the others are skipped."""


class ShortCircuitOperator(PythonOperator):
    """Call ``python_callable``; if it returns a falsy value, skip what is downstream.

    With ``ignore_downstream_trigger_rules=True`` (default) every downstream task is skipped;
    with False only the direct downstream tasks are, and the rest follow their trigger rules.
    """

    ui_color = "#f0ede4"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: dict[str, Any]) -> Any:
        result = super().execute(context)
        if not result:
            context["ti"].log.info("Condition is falsy: skipping downstream tasks")
            context["ti"].short_circuit(all_descendants=self.ignore_downstream_trigger_rules)
        return result
