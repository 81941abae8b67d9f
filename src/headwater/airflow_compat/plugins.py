"""Airflow's ``AirflowPlugin`` (``airflow.plugins_manager``), for the modules beside Airflow DAG
files that define plugins.

Airflow loads plugins from its plugins folder and from package entry points, and a plugin
registers timetables, template macros, listeners, UI views and more. headwater has no plugin
loader; a plugin class counts once a module that defines it is imported (a DAG file, or a
module a DAG file imports), and of what it lists:

* ``timetables`` need no registering: the scheduler imports a DAG's timetable class by its
  module's name, wherever it is defined (``docs/scheduling.md``);
* ``macros`` are offered to templates as ``macros.<plugin name>.<macro>``, as in Airflow
  (``{{ macros.workday_plugin.next_workday(ds) }}``);
* anything else (listeners, priority weight strategies, UI views and apps, operator extra
  links, hooks, executors) is not used: a warning names what, once per plugin.
"""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any, ClassVar

__all__ = ["AirflowPlugin", "plugin_macros"]

log = logging.getLogger(__name__)

_UNUSED = (
    "listeners",
    "priority_weight_strategies",
    "flask_blueprints",
    "appbuilder_views",
    "appbuilder_menu_items",
    "fastapi_apps",
    "fastapi_root_middlewares",
    "external_views",
    "react_apps",
    "global_operator_extra_links",
    "operator_extra_links",
    "hooks",
    "executors",
    "operators",
    "sensors",
    "admin_views",
    "menu_links",
)
"""What an Airflow plugin may list that headwater does not use."""

_macros: dict[str, SimpleNamespace] = {}
_warned: set[str] = set()
_lock = threading.Lock()


class AirflowPlugin:
    """The base class of an Airflow plugin: subclass it and set ``name`` and what it
    provides (Airflow's attributes, each a list)."""

    name: ClassVar[str | None] = None
    macros: ClassVar[list[Any]] = []
    timetables: ClassVar[list[type]] = []
    listeners: ClassVar[list[Any]] = []
    priority_weight_strategies: ClassVar[list[type]] = []
    flask_blueprints: ClassVar[list[Any]] = []
    appbuilder_views: ClassVar[list[Any]] = []
    appbuilder_menu_items: ClassVar[list[Any]] = []
    fastapi_apps: ClassVar[list[Any]] = []
    fastapi_root_middlewares: ClassVar[list[Any]] = []
    external_views: ClassVar[list[Any]] = []
    react_apps: ClassVar[list[Any]] = []
    global_operator_extra_links: ClassVar[list[Any]] = []
    operator_extra_links: ClassVar[list[Any]] = []
    hooks: ClassVar[list[Any]] = []
    executors: ClassVar[list[Any]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.name, str) or not cls.name.isidentifier():
            raise ValueError(
                f"Airflow plugin {cls.__name__}: name must be set to an identifier "
                f"(it names its macros: macros.<name>), not {cls.name!r}"
            )
        if cls.macros:
            functions = {getattr(fn, "__name__", repr(fn)): fn for fn in cls.macros}
            with _lock:
                _macros[cls.name] = SimpleNamespace(**functions)
        unused = [attribute for attribute in _UNUSED if getattr(cls, attribute, None)]
        with _lock:
            warn = unused and cls.name not in _warned
            _warned.add(cls.name)
        if warn:  # a DAG file imported again (it changed) defines its plugins again
            log.warning(
                "Airflow plugin %s (%s): headwater does not use its %s",
                cls.name,
                cls.__name__,
                ", ".join(unused),
            )


def plugin_macros(name: str) -> SimpleNamespace | None:
    """The macros of the Airflow plugin called ``name`` defined in this process, if any."""
    with _lock:
        return _macros.get(name)
