"""Removing the log files of runs that data retention removed, so the logs folder stays
bounded: each run's folder (``<logs>/dag_id=<id>/run_id=<id>``, see
:mod:`headwater.runtime.logs`) goes with its files, and a DAG's folder once it is empty; with
``[logging] remote_log_folder`` set, the run's folder there too (:func:`remove_remote_run_logs`).

Failures are logged, never raised: the runs are gone from the database already. Folders are
found by run, so a run's folder that could not be removed stays until removed by hand.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from headwater.exceptions import HeadwaterError
from headwater.runtime.logs import run_log_folder
from headwater.runtime.remote_logs import RemoteLogFolder, remove_remote_tree

log = logging.getLogger(__name__)


@dataclass
class LogFilesCount:
    """How many log files, and how many bytes in them."""

    files: int = 0
    bytes: int = 0

    def add(self, other: LogFilesCount) -> None:
        self.files += other.files
        self.bytes += other.bytes


def _folder(logs_folder: str, dag_id: str, run_id: str) -> str | None:
    try:
        return run_log_folder(logs_folder, dag_id, run_id)
    except HeadwaterError:  # an id that cannot name a folder never had logs
        return None


def _count(folder: str) -> LogFilesCount:
    counted = LogFilesCount()
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                counted.bytes += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            counted.files += 1
    return counted


def count_run_logs(
    logs_folder: str | os.PathLike[str], runs: Iterable[tuple[str, str]]
) -> LogFilesCount:
    """The log files of ``runs`` (``(dag_id, run_id)``) and their bytes; nothing changes."""
    counted = LogFilesCount()
    for dag_id, run_id in runs:
        folder = _folder(os.fspath(logs_folder), dag_id, run_id)
        if folder is not None and os.path.isdir(folder):
            counted.add(_count(folder))
    return counted


def remove_run_logs(
    logs_folder: str | os.PathLike[str], runs: Iterable[tuple[str, str]]
) -> LogFilesCount:
    """Remove the log folders of ``runs``, then each of their DAGs' folders left empty;
    returns the files and bytes removed."""
    removed = LogFilesCount()
    dag_folders: set[str] = set()
    for dag_id, run_id in runs:
        folder = _folder(os.fspath(logs_folder), dag_id, run_id)
        if folder is None or not os.path.isdir(folder):
            continue
        counted = _count(folder)
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            log.warning("Could not remove the log folder %s of a removed run: %s", folder, exc)
            continue
        removed.add(counted)
        dag_folders.add(os.path.dirname(folder))
    for folder in sorted(dag_folders):
        try:
            os.rmdir(folder)  # only when empty: a kept run's logs stay
        except OSError:
            pass
    return removed


def remove_remote_run_logs(remote: RemoteLogFolder, runs: Iterable[tuple[str, str]]) -> int:
    """Remove the remote log folders of ``runs`` (their copies and live parts); returns how
    many there were. A folder that could not be removed is logged and left."""
    removed = 0
    for dag_id, run_id in runs:
        folder = _folder(remote.logs_folder, dag_id, run_id)
        if folder is None:
            continue
        relative = remote.relative(folder)
        try:
            removed += remove_remote_tree(remote, relative)
        except Exception as exc:  # fsspec's errors vary by store
            log.warning(
                "Could not remove the remote log folder %s of a removed run: %s", relative, exc
            )
    return removed
