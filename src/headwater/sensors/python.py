"""PythonSensor: waits until a Python function returns something truthy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headwater.exceptions import DagDefinitionError
from headwater.operators.python import call_with_context
from headwater.sensors.base import BaseSensorOperator, PokeReturnValue


class PythonSensor(BaseSensorOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)`` at each poke; a truthy result (or a
    :class:`PokeReturnValue` that is done, whose ``xcom_value`` becomes the XCom) ends the
    wait.

    As for :class:`~headwater.operators.PythonOperator`, parameters named like context keys
    (``ds``, ``ti``, ``params``...) are filled in, and the rendered ``templates_dict`` is the
    ``templates_dict`` context key. Example::

        PythonSensor(task_id="wait_for_export", python_callable=export_is_ready,
                     op_kwargs={"day": "{{ ds }}"}, poke_interval=60, mode="reschedule")
    """

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: Mapping[str, Any] | None = None,
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

    def poke(self, context: dict[str, Any]) -> PokeReturnValue:
        if self.templates_dict is not None:
            context = {**context, "templates_dict": self.templates_dict}
        name = getattr(self.python_callable, "__name__", type(self.python_callable).__name__)
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Poking callable: %s", name)
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if isinstance(result, PokeReturnValue):
            return result
        return PokeReturnValue(bool(result))
