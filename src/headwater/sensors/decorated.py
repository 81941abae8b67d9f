"""The sensor that ``@task.sensor`` makes of a function (imported when first used)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headwater.operators.python import call_with_context
from headwater.sensors.base import BaseSensorOperator, PokeReturnValue


class DecoratedSensorOperator(BaseSensorOperator):
    """A sensor made by ``@task.sensor``: the function is its ``poke``, called with its
    arguments (and context keys by name) at each poke; it returns a bool or a
    :class:`~headwater.sensors.PokeReturnValue` (whose ``xcom_value`` becomes the XCom)."""

    custom_operator_name = "@task.sensor"
    template_fields: Sequence[str] = ("op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        multiple_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.multiple_outputs = multiple_outputs

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if isinstance(result, PokeReturnValue):
            return result
        return bool(result)
