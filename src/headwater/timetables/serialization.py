"""A timetable as JSON, and back: its class's import path and what its ``serialize`` says.

The scheduler rebuilds a DAG's timetable without importing the DAG file, so the class must be
importable by name: from an installed package, or from a module in the DAG folder (the DAG
file imports it from there; the scheduler finds that module by looking in the folders that
hold the DAG file, and puts the one that holds it on ``sys.path``). A class defined in the
DAG file itself, or inside a function, cannot be rebuilt and is refused when the DAG is
stored, naming the DAG file and the class.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import sys
from pathlib import Path
from typing import Any

from headwater.exceptions import InvalidScheduleError
from headwater.timetables.base import Timetable

_MAX_DEPTH = 32
"""How many folders above a DAG file are searched for a timetable's module."""


def timetable_to_json(timetable: Timetable, dag_file: str) -> dict[str, Any]:
    """``{"classpath", "data", "summary", "description"}`` for ``timetable`` of a DAG defined
    in ``dag_file``. Raises :class:`InvalidScheduleError` when its class cannot be imported
    by name or its ``serialize()`` is not JSON."""
    cls = type(timetable)
    classpath = f"{cls.__module__}.{cls.__qualname__}"
    where = f"timetable class {cls.__qualname__} (module {cls.__module__})"
    require_importable(cls.__module__, cls.__qualname__, dag_file, where, "timetables.py")
    data = timetable.serialize()
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidScheduleError(
            f"{where}: serialize() must return JSON-compatible values: {exc}"
        ) from None
    try:
        cls.deserialize(data)  # refused now, naming the file, rather than in the scheduler
    except Exception as exc:
        raise InvalidScheduleError(
            f"{where}: deserialize() cannot rebuild it from what serialize() returned, "
            f"{data!r}: {type(exc).__name__}: {exc}"
        ) from None
    return {
        "classpath": classpath,
        "data": data,
        "summary": timetable.summary,
        "description": timetable.description,
    }


def require_importable(
    module_name: str, qualname: str, dag_file: str, where: str, module_hint: str
) -> None:
    """Raise :class:`InvalidScheduleError` (naming ``where`` and ``dag_file``) unless class
    ``qualname`` of ``module_name`` can be imported by name in a process that never imports
    DAG files (the scheduler): at the top level of a module that is not the DAG file
    itself, importable from ``sys.path`` or a folder above the DAG file."""
    if "." in qualname:
        raise InvalidScheduleError(
            f"{where} is defined inside a function or class; the scheduler imports it by "
            "name: define it at the top level of a module"
        )
    module = sys.modules.get(module_name)
    module_file = getattr(module, "__file__", None)
    if module_file is not None and _same_file(module_file, dag_file):
        raise InvalidScheduleError(
            f"{where} is defined in the DAG file {dag_file} itself; the scheduler never "
            "imports DAG files: move it to a module of its own next to the DAG file (say "
            f"{Path(dag_file).with_name(module_hint)}) and import it from there"
        )
    if not _importable(module_name, dag_file):
        raise InvalidScheduleError(
            f"{where} of the DAG file {dag_file} cannot be imported by name: define it in a "
            "module next to the DAG file or in an installed package"
        )


def timetable_from_json(spec: dict[str, Any], dag_file: str) -> Timetable:
    """The timetable :func:`timetable_to_json` described, for a DAG defined in ``dag_file``.
    Raises :class:`InvalidScheduleError` naming the class when it cannot be imported or
    rebuilt."""
    classpath = spec["classpath"]
    module_name, _, name = classpath.rpartition(".")
    try:
        module = _import(module_name, dag_file)
        cls = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise InvalidScheduleError(
            f"cannot import timetable class {classpath!r} (the scheduler imports it by name, "
            f"never the DAG file): {type(exc).__name__}: {exc}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Timetable)):
        raise InvalidScheduleError(f"{classpath!r} is not a Timetable subclass")
    try:
        return cls.deserialize(spec["data"])
    except Exception as exc:  # the class's own code: whatever it raises names it
        raise InvalidScheduleError(
            f"timetable class {classpath!r} cannot be rebuilt from {spec['data']!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _same_file(one: str, other: str) -> bool:
    try:
        return Path(one).resolve() == Path(other).resolve()
    except OSError:
        return False


def _importable(module_name: str, dag_file: str) -> bool:
    """Whether ``module_name`` can be imported by name where the DAG file is not: its
    top-level package found on ``sys.path`` (not only in ``sys.modules``, where a DAG file's
    module is under a made-up name), or its file found in a folder above ``dag_file``."""
    top = module_name.split(".")[0]
    if top in sys.builtin_module_names:
        return True
    if importlib.machinery.PathFinder.find_spec(top) is not None:
        return True
    return _folder_holding(module_name, dag_file) is not None


def _import(module_name: str, dag_file: str) -> Any:
    """``module_name`` imported; when it (or a package above it) is not found on
    ``sys.path``, from the nearest folder above ``dag_file`` that holds its file (that folder
    joins ``sys.path``)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not (module_name == missing or module_name.startswith(f"{missing}.")):
            raise  # the module was found, something it imports was not
        root = _folder_holding(module_name, dag_file)
        if root is None or root in sys.path:
            raise
        sys.path.append(root)
        return importlib.import_module(module_name)


def _folder_holding(module_name: str, dag_file: str) -> str | None:
    """The nearest folder above ``dag_file`` holding module ``module_name`` (dotted: its
    packages are folders there)."""
    relative = Path(*module_name.split("."))
    for depth, folder in enumerate(Path(dag_file).resolve().parents):
        if depth >= _MAX_DEPTH:
            break
        if (folder / relative.with_suffix(".py")).is_file() or (
            folder / relative / "__init__.py"
        ).is_file():
            return str(folder)
    return None
