"""Checks of the arguments that define tasks and DAGs: ids, numbers, durations, flags,
callbacks, alert addresses, and unknown arguments named with a suggestion. Each raises
:class:`~headwater.exceptions.DagDefinitionError` naming the task and the argument."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from headwater.authoring.dates import plain_timedelta
from headwater.exceptions import DagDefinitionError

_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def validate_task_id(task_id: object, what: str = "task_id") -> str:
    """Return ``task_id`` if it is a usable id, else raise an error saying why.

    ``what`` names the id in the message: ``"task_id"``, ``"dag_id"``, ``"group_id"``.
    """
    if not isinstance(task_id, str) or not task_id:
        raise DagDefinitionError(f"{what} must be a non-empty string, got {task_id!r}")
    if len(task_id) > 250:
        raise DagDefinitionError(f"{what} {task_id[:40]!r}... is longer than 250 characters")
    bad = sorted(set(task_id) - _ID_CHARACTERS)
    if bad:
        raise DagDefinitionError(
            f"{what} {task_id!r} contains {''.join(bad)!r}; use letters, digits, '_', '-', '.'"
        )
    if not task_id.strip("."):
        # '.' and '..' cannot name a log folder or file: refused here, at import, rather than
        # when the scheduler cannot start the task (which would then stay queued).
        raise DagDefinitionError(
            f"{what} {task_id!r} is made only of dots; use at least one letter, digit, '_' or '-'"
        )
    return task_id


def check_callback(value: Any, name: str, owner: str) -> Any:
    """Return ``value`` if it is None, a callable or a list/tuple of callables, else raise
    an error naming ``owner`` (``"task 'x'"``, ``"DAG 'x'"``) and the argument ``name``."""
    if value is None or callable(value):
        return value
    if isinstance(value, list | tuple) and all(callable(fn) for fn in value):
        return value
    raise DagDefinitionError(
        f"{owner}: {name} must be a function of the context or a list of them, got {value!r:.80}"
    )


def check_hook(value: Any, name: str, owner: str) -> Any:
    """Return ``value`` if it is None or callable (a ``pre_execute``/``post_execute``
    function), else raise an error naming ``owner`` and the argument ``name``."""
    if value is None or callable(value):
        return value
    raise DagDefinitionError(f"{owner}: {name} must be a function, got {value!r:.80}")


def display_name(value: Any, task_id: str) -> str:
    """``task_display_name``: ``value`` when it is a non-empty string, the id when None."""
    if value is None:
        return task_id
    if not isinstance(value, str) or not value.strip():
        raise DagDefinitionError(
            f"task {task_id!r}: task_display_name must be a non-empty string, got {value!r:.80}"
        )
    return value


def non_negative_int(value: Any, name: str, task_id: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DagDefinitionError(f"task {task_id!r}: {name} must be an int >= 0, got {value!r}")
    return value


def flag(args: dict[str, Any], name: str, task_id: str) -> bool:
    value = args[name]
    if not isinstance(value, bool):
        raise DagDefinitionError(f"task {task_id!r}: {name} must be True or False, got {value!r}")
    return value


def past_flags(args: dict[str, Any], task_id: str) -> tuple[bool, bool, bool]:
    """``(depends_on_past, wait_for_downstream, ignore_first_depends_on_past)`` from a
    task's arguments, each True or False; ``wait_for_downstream=True`` implies
    ``depends_on_past`` (as in Airflow: it waits for the previous run's instance too)."""
    depends = flag(args, "depends_on_past", task_id)
    downstream = flag(args, "wait_for_downstream", task_id)
    first = flag(args, "ignore_first_depends_on_past", task_id)
    return depends or downstream, downstream, first


def email_addresses(value: Any, task_id: str) -> list[str] | None:
    """``email`` as a list of addresses: a list, or one string separated by commas or
    semicolons (Airflow takes both); None or empty: no alert emails."""
    if value is None:
        return None
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list | tuple) or not all(isinstance(e, str) for e in entries):
        raise DagDefinitionError(
            f"task {task_id!r}: email must be an address, a comma-separated string of them or "
            f"a list of them, got {value!r:.80}"
        )
    addresses = [a.strip() for e in entries for a in e.replace(";", ",").split(",") if a.strip()]
    for address in addresses:
        if "@" not in address or any(c.isspace() for c in address.strip("<>")):
            raise DagDefinitionError(f"task {task_id!r}: email {address!r} is not an address")
    return addresses or None


def bounded(value: int, name: str, task_id: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be from {low:,} to {high:,}, got {value:,}"
        )
    return value


def as_int(value: Any, name: str, task_id: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be an int, got {value!r}"
        ) from None


def as_timedelta(
    value: Any, name: str, task_id: str, *, optional: bool = False, zero: bool = True
) -> Any:
    """``value`` (a timedelta or seconds) as a timedelta >= 0 (> 0 unless ``zero``)."""
    if value is None and optional:
        return None
    if isinstance(value, timedelta):
        delta = plain_timedelta(value)  # pendulum's Duration too
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            delta = timedelta(seconds=value)
        except (ValueError, OverflowError):  # NaN, infinite, too large
            raise DagDefinitionError(
                f"task {task_id!r}: {name} must be a finite number of seconds, got {value!r}"
            ) from None
    else:
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be a timedelta or a number of seconds, got {value!r}"
        )
    if delta < timedelta(0) or (not zero and delta == timedelta(0)):
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be {'>= 0' if zero else 'positive'}, "
            f"got {delta.total_seconds():g} seconds"
        )
    return delta


def refuse_unknown(cls: type, task_id: str, unknown: dict[str, Any]) -> None:
    """Raise an error naming the operator class, the task and the unknown arguments."""
    message = unknown_arguments(cls, unknown)
    raise DagDefinitionError(f"task {task_id!r} ({cls.__name__}): {message}")


def unknown_arguments(cls: type, given: Iterable[str]) -> str | None:
    """``"unknown argument 'x' (did you mean 'y'?)"`` for the names in ``given`` that no
    ``__init__`` of ``cls`` (an operator class, or ``DAG``) or its bases takes; None when
    there are none.

    Only called on the error path (it inspects signatures).
    """
    import difflib
    import inspect

    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    known = {
        name
        for klass in cls.__mro__
        if "__init__" in vars(klass)
        for name, parameter in inspect.signature(vars(klass)["__init__"]).parameters.items()
        if parameter.kind not in variadic and name != "self"
    }
    unknown = [name for name in given if name not in known]
    if not unknown:
        return None
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return f"unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(hints)}"
