"""The running task's context, for code that cannot take it as parameters."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from headwater.exceptions import HeadwaterError

_current: ContextVar[dict[str, Any] | None] = ContextVar("headwater_task_context", default=None)


def get_current_context() -> dict[str, Any]:
    """The context of the task attempt running now (``ds``, ``ti``, ``params``...).

    Example::

        @task
        def report():
            ds = get_current_context()["ds"]
    """
    context = _current.get()
    if context is None:
        raise HeadwaterError("get_current_context() is only available while a task runs")
    return context


def set_current_context(context: dict[str, Any] | None) -> Any:
    """Install ``context`` for the running attempt; returns a token for :func:`reset`."""
    return _current.set(context)


def reset_current_context(token: Any) -> None:
    _current.reset(token)
