"""``import airflow...`` in DAG files, answered with headwater's own objects: Airflow DAG files
run unchanged (``[core] airflow_compat``).

:func:`install_airflow_names` puts a finder at the front of ``sys.meta_path`` for the rest of
the process (tasks import Airflow names when they run, not only when their file is
imported). It answers ``airflow`` and the modules of
:data:`~headwater.loading.airflow_names.MODULES` (and the packages above them); each name is
imported from headwater when a file first uses it. ``airflow.example_dags`` is Airflow's
example folder where one was unpacked (:func:`airflow_examples_folder`), so that Airflow's own
examples import their helpers. Any other ``airflow.*`` module is refused with a
:class:`ModuleNotFoundError` that says headwater does not provide it. It never shadows
a real Airflow: when one can be imported in this environment the finder is not installed (a
warning says so, once).

Example::

    install_airflow_names()
    from airflow.operators.bash import BashOperator   # headwater.operators.BashOperator
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from headwater.airflow_compat.helpers import show_airflow_deprecations, warn_deprecated
from headwater.loading.airflow_names import DEPRECATED_MODULES, MODULES

if TYPE_CHECKING:
    from headwater.settings import Settings

__all__ = [
    "EXAMPLES",
    "AirflowNamesFinder",
    "airflow_compat_enabled",
    "airflow_dag_files",
    "airflow_examples_folder",
    "install_airflow_names",
    "is_airflow_name",
    "resolve",
    "turn_on_for_airflow_folder",
]

log = logging.getLogger(__name__)

_GUIDE = "docs/migrating-from-airflow.md"
_lock = threading.Lock()


def is_airflow_name(fullname: str) -> bool:
    """Whether ``fullname`` is ``airflow`` or one of its modules."""
    return fullname == "airflow" or fullname.startswith("airflow.")


class AirflowNamesFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``airflow`` modules in :data:`MODULES` and makes each a module whose names
    are headwater's objects, imported on first use."""

    def __init__(
        self,
        modules: dict[str, dict[str, str]] = MODULES,
        deprecated: dict[str, str] = DEPRECATED_MODULES,
    ) -> None:
        self.modules = modules
        self.deprecated = deprecated
        self.packages = {
            ".".join(name.split(".")[:depth])
            for name in modules
            for depth in range(1, name.count(".") + 1)
        }

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not is_airflow_name(fullname):
            return None
        if fullname == EXAMPLES:
            folder = airflow_examples_folder()
            if folder is not None:
                init = folder / "__init__.py"
                return importlib.util.spec_from_file_location(
                    fullname, init, submodule_search_locations=[str(folder)]
                )
        elif fullname.startswith(f"{EXAMPLES}."):
            return None  # a module of the examples' folder: Python's own finders find it
        if fullname not in self.modules and fullname not in self.packages:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: headwater's Airflow compatibility does not "
                f"provide it (see {_GUIDE})",
                name=fullname,
            )
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        fullname = module.__name__
        names = self.modules.get(fullname, {})
        instead = self.deprecated.get(fullname)
        module.__all__ = sorted(names)  # type: ignore[attr-defined]
        module.__doc__ = f"headwater's stand-in for {fullname} (Airflow compatibility)."

        def __getattr__(name: str) -> Any:
            target = names.get(name)
            if target is None:
                raise AttributeError(
                    f"module {fullname!r} has no attribute {name!r} in headwater's Airflow "
                    f"compatibility (see {_GUIDE})"
                )
            value = resolve(target)
            if instead is not None:
                # Not kept on the module: every file that takes the name is warned.
                warn_deprecated(
                    f"{fullname} is deprecated (removed in Airflow 3): import {name} from "
                    f"{instead} instead"
                )
            else:
                setattr(module, name, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


EXAMPLES = "airflow.example_dags"
"""Airflow's own example DAGs: a package of an Airflow installation, whose DAG files import
their helpers from it (``airflow.example_dags.plugins.workday``)."""


def airflow_examples_folder() -> Path | None:
    """Where Airflow's example DAGs were unpacked from its wheel, if ``sys.path`` leads there:
    a folder ``airflow/example_dags`` (with its ``__init__.py``) in an entry of ``sys.path``,
    or an entry that is that folder or inside it (the folder of a DAG file being imported:
    ``example_dags/`` itself, or its ``plugins/``)."""
    for entry in sys.path:
        base = Path(entry or ".").absolute()
        for folder in (base / "airflow" / "example_dags", base, *base.parents):
            if (
                folder.name == "example_dags"
                and folder.parent.name == "airflow"
                and (folder / "__init__.py").is_file()
            ):
                return folder
    return None


def resolve(target: str) -> Any:
    """The object a table value names: ``"module:attribute"``, or ``"module"`` itself."""
    where, _, attribute = target.partition(":")
    found = importlib.import_module(where)
    return getattr(found, attribute) if attribute else found


_installed: AirflowNamesFinder | None = None
_refused = False


def install_airflow_names() -> bool:
    """Answer ``airflow`` imports with headwater's objects from now on in this process;
    whether they are (False: a real Airflow is importable here, and is left alone)."""
    global _installed, _refused
    with _lock:
        if _installed is not None:
            return True
        if real_airflow_importable():
            if not _refused:
                log.warning(
                    "A real Airflow is installed in this environment: headwater leaves "
                    "`airflow` imports to it ([core] airflow_compat has no effect here)"
                )
                _refused = True
            return False
        _installed = AirflowNamesFinder()
        sys.meta_path.insert(0, _installed)
        show_airflow_deprecations()
        return True


def real_airflow_importable() -> bool:
    """Whether ``import airflow`` would find a package of its own (not ours). A folder named
    ``airflow`` without an ``__init__.py`` on the path (a namespace package: the working
    folder holds Airflow's unpacked examples, say) is no Airflow installation."""
    loaded = sys.modules.get("airflow")
    if loaded is not None:
        finder = getattr(loaded, "__loader__", None)
        return (
            not isinstance(finder, AirflowNamesFinder)
            and getattr(loaded, "__file__", None) is not None
        )
    try:
        spec = importlib.util.find_spec("airflow")
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def airflow_compat_enabled() -> bool:
    """``[core] airflow_compat`` of this process's settings (False when they cannot be read:
    the command that reads them reports why)."""
    from headwater.exceptions import HeadwaterError
    from headwater.settings import load_settings

    try:
        return load_settings().core.airflow_compat
    except HeadwaterError:
        return False


def airflow_dag_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that only ``[core] airflow_compat`` would import: they mention
    airflow and dag, not headwater."""
    from headwater.loading.dagbag import iter_dag_files

    if not folder.is_dir():
        return []
    with_airflow = set(iter_dag_files(folder, airflow=True))
    return sorted(with_airflow - set(iter_dag_files(folder, airflow=False)))


def turn_on_for_airflow_folder(settings: Settings) -> list[Path]:
    """``standalone``'s rule: with ``[core] airflow_compat`` off, a DAG folder that holds
    Airflow DAG files turns it on for this process and the processes it starts (their
    environment), unless a real Airflow is installed here. Returns those files (empty: nothing
    changed)."""
    import os

    if settings.core.airflow_compat or real_airflow_importable():
        return []
    found = airflow_dag_files(settings.dags_folder)
    if found:
        os.environ["HEADWATER__CORE__AIRFLOW_COMPAT"] = "true"
    return found
