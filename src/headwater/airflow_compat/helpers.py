"""Small helpers Airflow DAG files import from ``airflow.utils.*`` and
``airflow.operators.python``, and the deprecation warning Airflow 2 names raise.

``airflow.utils.timezone``'s functions read a naive datetime as UTC (headwater has no
``default_timezone`` setting: UTC is Airflow's default too). Example::

    from airflow.utils import timezone
    timezone.datetime(2024, 1, 1)          # 2024-01-01 00:00 UTC

:func:`warn_deprecated` points its warning at the user's line (a DAG file), not at headwater's
or importlib's frames, so Python shows the file and line that uses the old name.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import inspect
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

__all__ = [
    "AirflowDeprecationWarning",
    "Context",
    "convert_to_utc",
    "datetime",
    "is_localized",
    "is_naive",
    "is_venv_installed",
    "make_aware",
    "make_naive",
    "parse",
    "utc",
    "utcnow",
    "warn_deprecated",
]

Context = dict[str, Any]
"""``airflow.utils.context.Context`` (``airflow.sdk.Context``), for type hints: a task's
context is a dict in headwater."""

utc = _dt.UTC
"""``airflow.utils.timezone.utc``."""

_HEADWATER = str(Path(__file__).resolve().parents[1])


class AirflowDeprecationWarning(DeprecationWarning):
    """An Airflow name that Airflow itself deprecated or removed: it still works in
    headwater, and the message names what to use instead. ``install_airflow_names`` shows
    these warnings (Python hides DeprecationWarnings raised outside ``__main__``)."""


_filter_added = False


def show_airflow_deprecations() -> None:
    """Show :class:`AirflowDeprecationWarning` once per line (Python hides deprecation
    warnings outside ``__main__``): the DAG file's user must see which Airflow 2 names to
    replace, unless they chose their own filters (``-W``, ``PYTHONWARNINGS``)."""
    global _filter_added
    if not _filter_added and not sys.warnoptions:
        warnings.filterwarnings("default", category=AirflowDeprecationWarning)
        _filter_added = True


_silenced: ContextVar[bool] = ContextVar("airflow_deprecations_silenced", default=False)


@contextmanager
def airflow_deprecations_silenced() -> Iterator[None]:
    """Within the block, :func:`warn_deprecated` says nothing (a worker loading a DAG file
    for each attempt: the names were pointed out where people read, once)."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def warn_deprecated(message: str) -> None:
    """Warn with ``message``, at the first frame outside headwater and importlib: the line
    of the DAG file (or task) that used the deprecated name."""
    if _silenced.get():
        return
    show_airflow_deprecations()
    frame = inspect.currentframe()
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_HEADWATER, "<frozen importlib")):
            break
        frame = frame.f_back
    if frame is None:  # pragma: no cover - a headwater frame is never the outermost one
        warnings.warn(message, AirflowDeprecationWarning, stacklevel=2)
        return
    module_globals = frame.f_globals
    warnings.warn_explicit(
        message,
        AirflowDeprecationWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=module_globals.get("__name__", "<unknown>"),
        registry=module_globals.setdefault("__warningregistry__", {}),
    )


def is_venv_installed() -> bool:
    """Whether ``PythonVirtualenvOperator`` can make environments here: headwater builds
    them with the standard library's ``venv``, so this is whether ``venv`` is importable
    (Airflow's asks for ``virtualenv``)."""
    return importlib.util.find_spec("venv") is not None


def utcnow() -> _dt.datetime:
    """Now, in UTC (an aware datetime)."""
    return _dt.datetime.now(utc)


def is_naive(value: _dt.datetime) -> bool:
    """Whether ``value`` has no time zone."""
    return value.tzinfo is None or value.tzinfo.utcoffset(value) is None


def is_localized(value: _dt.datetime) -> bool:
    """Whether ``value`` has a time zone."""
    return not is_naive(value)


def make_aware(value: _dt.datetime, timezone: _dt.tzinfo | None = None) -> _dt.datetime:
    """``value`` in ``timezone`` (UTC when not given); an aware ``value`` is an error, as
    in Airflow (it would be ambiguous which zone wins)."""
    if not is_naive(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value.isoformat()}")
    return value.replace(tzinfo=timezone or utc)


def make_naive(value: _dt.datetime, timezone: _dt.tzinfo | None = None) -> _dt.datetime:
    """The wall-clock time of an aware ``value`` in ``timezone`` (UTC when not given),
    without its zone."""
    if is_naive(value):
        raise ValueError(f"make_naive expects an aware datetime, got {value.isoformat()}")
    return value.astimezone(timezone or utc).replace(tzinfo=None)


def convert_to_utc(value: _dt.datetime | None) -> _dt.datetime | None:
    """``value`` in UTC; a naive one is read as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=utc) if is_naive(value) else value.astimezone(utc)


def datetime(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
    tzinfo: _dt.tzinfo | None = None,
    **kwargs: int,
) -> _dt.datetime:
    """``airflow.utils.timezone.datetime``: a datetime that is UTC unless ``tzinfo`` says
    otherwise, e.g. ``timezone.datetime(2024, 1, 1)``."""
    return _dt.datetime(
        year, month, day, hour, minute, second, microsecond, tzinfo=tzinfo or utc, **kwargs
    )


def parse(string: str, timezone: _dt.tzinfo | None = None) -> _dt.datetime:
    """An ISO 8601 date or datetime; without an offset it is read in ``timezone`` (UTC)."""
    try:
        value = _dt.datetime.fromisoformat(string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot parse {string!r} as an ISO 8601 date or datetime") from error
    return value.replace(tzinfo=timezone or utc) if is_naive(value) else value
