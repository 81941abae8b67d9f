"""Which executor a scheduler uses: the names ``scheduler.executor`` may take, and their factories.

Three sources, looked up in this order:

* the built-in executors, ``"local"`` (a pool of worker processes) and ``"in_process"`` (one
  attempt at a time inside the scheduler), wired in :mod:`headwater.scheduler.service`, and
  ``"celery"`` (:mod:`headwater.celery_executor`, imported only when chosen);
* factories registered in this process with :func:`register_executor` (an application that
  embeds headwater, a test);
* factories that installed packages declare in the entry-point group ``headwater.executors``
  (a third-party executor), loaded only when their name is the one asked for, so an installed
  plugin costs nothing to a scheduler that does not use it.

A factory takes the settings and returns what builds the executor for one scheduler (so it
can refuse bad settings before the database is opened, and the executor can reach the
scheduler's ``prepare_attempt``, store and clock)::

    # in the plugin's pyproject.toml:
    #   [project.entry-points."headwater.executors"]
    #   kubernetes = "headwater_k8s:executor_factory"
    def executor_factory(settings: Settings) -> Callable[[Scheduler], Executor]:
        return lambda scheduler: KubernetesExecutor(settings, prepare=scheduler.prepare_attempt)

The setting is checked here, when the scheduler is built, not when the settings load:
which names exist depends on the packages installed, and reading every package's entry points
would slow down every command that loads the settings. An unknown name is one
:class:`~headwater.settings_checks.SettingsError` naming the setting, the value and the names
available.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING

from headwater.exceptions import HeadwaterError
from headwater.settings_checks import SettingsError

if TYPE_CHECKING:
    from headwater.executors.base import Executor
    from headwater.scheduler.scheduler import Scheduler
    from headwater.settings import Settings

__all__ = [
    "ENTRY_POINT_GROUP",
    "ExecutorFactory",
    "available_executors",
    "executor_factory",
    "register_executor",
    "unregister_executor",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "headwater.executors"
"""The entry-point group in which installed packages declare executors by name."""

ExecutorFactory = Callable[["Settings"], Callable[["Scheduler"], "Executor"]]
"""``factory(settings)`` returns ``build(scheduler) -> Executor``."""

SETTING = "scheduler.executor"


def _local(settings: Settings) -> Callable[[Scheduler], Executor]:
    from headwater.scheduler.service import local_executor_factory

    return local_executor_factory(settings)


def _in_process(settings: Settings) -> Callable[[Scheduler], Executor]:
    from headwater.scheduler.service import in_process_executor_factory

    return in_process_executor_factory()


def _celery(settings: Settings) -> Callable[[Scheduler], Executor]:
    from headwater.celery_executor import celery_executor_factory

    return celery_executor_factory(settings)


_BUILT_IN: dict[str, ExecutorFactory] = {
    "local": _local,
    "in_process": _in_process,
    "celery": _celery,
}
_registered: dict[str, ExecutorFactory] = {}


def register_executor(name: str, factory: ExecutorFactory) -> None:
    """Make ``name`` a value of ``scheduler.executor`` in this process, built by ``factory``.

    A name that is built in or registered already is refused (unregister it first), so a
    plugin never silently replaces another executor.
    """
    if not name or not name.strip():
        raise HeadwaterError("an executor's name cannot be empty")
    if name in _BUILT_IN:
        raise HeadwaterError(f"executor {name!r} is built in and cannot be registered again")
    if name in _registered:
        raise HeadwaterError(
            f"executor {name!r} is registered already; unregister_executor({name!r}) first"
        )
    if not callable(factory):
        raise HeadwaterError(f"executor {name!r}: the factory {factory!r} is not callable")
    _registered[name] = factory


def unregister_executor(name: str) -> None:
    """Forget an executor :func:`register_executor` added (nothing if it is not there)."""
    _registered.pop(name, None)


def _entry_points() -> list[metadata.EntryPoint]:
    """The executors installed packages declare (read from their metadata, not imported)."""
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def available_executors() -> list[str]:
    """Every name ``scheduler.executor`` may take here: built in, registered, installed."""
    names = [*_BUILT_IN, *sorted(_registered)]
    installed = sorted({ep.name for ep in _entry_points()} - set(names))
    return names + installed


def executor_factory(name: str) -> ExecutorFactory:
    """The factory of the executor called ``name``; a :class:`SettingsError` naming the
    setting, the value and the available names when there is none, or when its package's
    entry point cannot be loaded."""
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    if name in _registered:
        return _registered[name]
    found = [ep for ep in _entry_points() if ep.name == name]
    if not found:
        available = ", ".join(repr(n) for n in available_executors())
        raise SettingsError(
            f"{SETTING} is {name!r}, which is not an executor here; available: {available} "
            f"(an installed package adds one through the entry-point group {ENTRY_POINT_GROUP!r})"
        )
    if len({ep.value for ep in found}) > 1:
        targets = ", ".join(sorted({ep.value for ep in found}))
        raise SettingsError(
            f"{SETTING} is {name!r}, which more than one installed package declares in the "
            f"entry-point group {ENTRY_POINT_GROUP!r} ({targets}): uninstall all but one"
        )
    entry_point = found[0]
    try:
        factory = entry_point.load()
    except Exception as exc:
        raise SettingsError(
            f"{SETTING} is {name!r}, but its entry point {entry_point.value!r} (group "
            f"{ENTRY_POINT_GROUP!r}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(factory):
        raise SettingsError(
            f"{SETTING} is {name!r}, but its entry point {entry_point.value!r} is not callable"
        )
    log.info("Executor %r comes from the entry point %s", name, entry_point.value)
    factory_: ExecutorFactory = factory
    return factory_
