"""The ``[lineage]`` settings an attempt follows in this process.

A worker reads its own settings (messages carry none), so an attempt asks here: the settings
a ``dags test`` or ``dag.test()`` run was given (:func:`use_lineage_settings`), else this
process's settings (the environment and the settings file), read again only when one of
them changed (a ``HEADWATER__LINEAGE__*`` variable, ``HEADWATER_HOME``, the file), so an
attempt costs a glance at the environment, not a parse. The file is looked at (a ``stat``)
at most once per ``FILE_CHECK_S``: a settings file edited while a worker runs is followed
within that time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar

from headwater.settings_operations import LineageSettings

log = logging.getLogger(__name__)

OFF = LineageSettings()
"""The defaults: transport ``none``."""

FILE_CHECK_S = 1.0
"""How often the settings file is looked at for changes, at most."""

_given: ContextVar[LineageSettings | None] = ContextVar("lineage_settings", default=None)
_cached: tuple[object, LineageSettings] | None = None
_file_key: tuple[str, object, float] | None = None
"""The settings file's path, what its ``stat`` said, and when (``_monotonic``)."""
_monotonic = time.monotonic


@contextlib.contextmanager
def use_lineage_settings(settings: LineageSettings) -> Iterator[None]:
    """Attempts run in this block (in this thread) follow ``settings``."""
    token = _given.set(settings)
    try:
        yield
    finally:
        _given.reset(token)


def current_lineage_settings() -> LineageSettings:
    """The settings given to the current block, else this process's (``none`` when they
    cannot be read: the error is logged once, and lineage is off rather than the task)."""
    given = _given.get()
    if given is not None:
        return given
    global _cached
    key = _environment_key()
    if _cached is not None and _cached[0] == key:
        return _cached[1]
    from headwater.settings import load_settings

    try:
        settings = load_settings().lineage
    except Exception as exc:
        log.error("OpenLineage is off: the settings cannot be read: %s", exc)
        settings = OFF
    _cached = (key, settings)
    return settings


_VARIABLES = tuple(
    f"HEADWATER__LINEAGE__{f.name.upper()}" for f in dataclasses.fields(LineageSettings)
)


_NAMES = ("HEADWATER_HOME", *_VARIABLES)
_ENCODED = tuple(os.fsencode(name) for name in _NAMES)


def _environment_key() -> object:
    """What the ``[lineage]`` settings of this process depend on (a few microseconds)."""
    values = _environment_values()
    home = os.fsdecode(values[0]) if values[0] else ""
    return (home, _file_state(home), values[1:])


def _environment_values() -> tuple[str | bytes | None, ...]:
    """``HEADWATER_HOME`` and each ``HEADWATER__LINEAGE__*`` variable (None where unset).

    On POSIX from the bytes mapping behind ``os.environ``, which its ``__setitem__`` and
    ``__delitem__`` keep current: ``os.environ.get`` of a variable that is not set raises
    and catches a ``KeyError`` inside, and a dozen of those were a third of what an
    attempt's lineage cost before its task ran."""
    data = getattr(os.environ, "_data", None) if os.name == "posix" else None
    if isinstance(data, dict):
        return tuple(map(data.get, _ENCODED))
    env = os.environ
    return tuple(map(env.get, _NAMES))


def _file_state(home: str) -> object:
    """The settings file's modification time and size (None: no file), as seen at most
    ``FILE_CHECK_S`` ago."""
    global _file_key
    config = os.path.join(os.path.expanduser(home or "~/.headwater"), "headwater.toml")
    now = _monotonic()
    if _file_key is not None and _file_key[0] == config and now - _file_key[2] < FILE_CHECK_S:
        return _file_key[1]
    try:
        stat = os.stat(config)
        changed: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        changed = None
    _file_key = (config, changed, now)
    return changed
