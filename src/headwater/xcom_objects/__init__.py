"""The object-store XCom backend (``[xcom] backend = "object_store"``).

Values passed between tasks that are large, or not JSON (DataFrames, bytes), are written as
files under ``xcom.object_store_path`` (a folder or an fsspec URL), and the database keeps
only a small reference to each (:mod:`.references`). :class:`XComObjectStore` writes them
(:mod:`.store`), :mod:`.files` does the file work. It sits beside ``xcom_serializers``, below
the engine, whose ``XComs`` calls it on every push and pull.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.settings_checks import SettingsError
from headwater.xcom_objects.files import is_url
from headwater.xcom_objects.references import Reference, XComLocation, is_reference
from headwater.xcom_objects.store import XComObjectStore, load_value

if TYPE_CHECKING:
    from headwater.settings import Settings
    from headwater.xcom_serializers import Serializer

__all__ = [
    "Reference",
    "XComLocation",
    "XComObjectStore",
    "delete_dag_objects",
    "delete_files",
    "delete_run_objects",
    "files_of_instances",
    "is_reference",
    "load_value",
    "object_store_for",
    "object_store_root",
]

log = logging.getLogger(__name__)


def object_store_root(settings: Settings) -> str:
    """The folder or URL of the object store: the setting, read from <home> when relative."""
    path = settings.xcom.object_store_path
    if not path:
        return str(settings.home / "xcom_objects")
    if is_url(path):
        return path
    return str(settings.home / Path(path).expanduser())  # an absolute path stays as it is


def object_store_for(settings: Settings, serializer: Serializer) -> XComObjectStore | None:
    """The object store of ``settings``, or None when XComs stay in the database."""
    xcom = settings.xcom
    if xcom.backend != "object_store":
        return None
    if xcom.object_store_threshold_bytes > xcom.max_size_bytes:
        raise SettingsError(
            f"xcom.object_store_threshold_bytes ({xcom.object_store_threshold_bytes}, "
            f"{settings.sources.get('xcom.object_store_threshold_bytes', 'default')}) must be "
            f"at most xcom.max_size_bytes ({xcom.max_size_bytes}, "
            f"{settings.sources.get('xcom.max_size_bytes', 'default')}): values between the "
            "two would be refused instead of stored as files"
        )
    return XComObjectStore(
        object_store_root(settings),
        threshold_bytes=xcom.object_store_threshold_bytes,
        serializer=serializer,
    )


def _stores_to_clean(settings: Settings) -> XComObjectStore | None:
    """The store whose files to delete with runs: the configured one, and with the database
    backend still the folder files may have been written to before (if there is one)."""
    from headwater.xcom_serializers import JsonSerializer

    root = object_store_root(settings)
    if settings.xcom.backend != "object_store" and (is_url(root) or not Path(root).is_dir()):
        return None
    return XComObjectStore(root, threshold_bytes=0, serializer=JsonSerializer())


def files_of_instances(
    settings: Settings, dag_id: str, run_id: str, instances: Iterable[tuple[str, int]]
) -> list[str]:
    """The XCom files of the task instances ``(task_id, map_index)`` of one run, listed
    before they are cleared: deleting exactly these afterwards never touches a file that a
    new attempt, started as soon as the clear is committed, writes meanwhile."""
    try:
        objects = _stores_to_clean(settings)
        if objects is None:
            return []
        return [
            path
            for task_id, map_index in instances
            for path in objects.instance_files(dag_id, run_id, task_id, map_index)
        ]
    except Exception as exc:  # a storage outage must not stop the clear itself
        log.warning("Could not list the XCom files of run %s of DAG %s: %s", run_id, dag_id, exc)
        return []


def delete_files(settings: Settings, paths: list[str]) -> None:
    """Delete XCom files listed by :func:`files_of_instances` (failures logged)."""
    if not paths:
        return
    try:
        objects = _stores_to_clean(settings)
        if objects is not None:
            objects.remove_files(paths)
    except Exception as exc:  # their references are gone: at worst, unreachable garbage
        log.warning("Could not delete %d XCom files: %s", len(paths), exc)


def delete_run_objects(settings: Settings, dag_id: str, run_id: str) -> None:
    """Delete the XCom files of a run that was deleted; a failure is logged, not raised (the
    run is gone from the database already, and its files are unreachable garbage)."""
    try:
        objects = _stores_to_clean(settings)
        if objects is not None:
            objects.delete_run(dag_id, run_id)
    except Exception as exc:  # see the docstring
        log.warning("Could not delete the XCom files of run %s of DAG %s: %s", run_id, dag_id, exc)


def delete_dag_objects(settings: Settings, dag_id: str) -> None:
    """Delete the XCom files of every run of a DAG that was deleted (failures logged)."""
    try:
        objects = _stores_to_clean(settings)
        if objects is not None:
            objects.delete_dag(dag_id)
    except Exception as exc:  # see the docstring
        log.warning("Could not delete the XCom files of DAG %s: %s", dag_id, exc)
