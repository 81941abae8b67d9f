"""Finding the log file of one attempt of a task instance (``headwater tasks logs``).

Ids are checked with :func:`~headwater.runtime.logs.safe_id` before anything else, so no id
can point outside the logs folder. The file is the attempt row's ``log_path`` when the
database has one, else the standard place (:func:`~headwater.runtime.logs.attempt_log_path`);
when that file is gone, the copy in the remote log folder, fetched back to the standard
place (:mod:`headwater.runtime.remote_logs`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engine.records import TaskAttempt, TaskInstance, TaskInstanceKey
from headwater.engine.states import FINISHED_STATES, TaskInstanceState
from headwater.operations._stored import dag_row, require_run
from headwater.operations.errors import InvalidRequestError, NotFoundError
from headwater.runtime.logs import attempt_log_path, safe_id
from headwater.runtime.remote_logs import RemoteLogFolder, fetch_log

if TYPE_CHECKING:
    from headwater.store.ports import Store

_ATTEMPT_FILE = re.compile(r"^attempt=(\d+)\.log$")


class NoAttemptYetError(NotFoundError):
    """The task instance exists but none of its attempts has started yet."""


@dataclass(frozen=True)
class AttemptLog:
    key: TaskInstanceKey
    try_number: int
    path: Path
    attempt: TaskAttempt | None
    """The attempt's row; None when only the file exists (a run outside the database)."""
    tries: tuple[int, ...]
    """Every try of the instance with an attempt row or a log file."""


def find_attempt_log(
    store: Store,
    logs_folder: str | os.PathLike[str],
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
    must_exist: bool = True,
    remote: RemoteLogFolder | None = None,
) -> AttemptLog:
    """The log of try ``try_number`` (default: the latest) of one task instance.

    Raises when an id cannot name a log folder; when the instance has no attempt at all,
    saying what is missing (the DAG, the run, the task, the map index, or only an attempt:
    :class:`NoAttemptYetError`); and (with ``must_exist``) when the file is missing: the
    message lists the tries there are. Logs of runs that are not in the database (``dags
    test``) are found by their files. A log of an ended attempt whose file is gone is
    fetched back from ``remote`` (``[logging] remote_log_folder``) when it has a copy.
    """
    for value, what in ((dag_id, "dag_id"), (run_id, "run_id"), (task_id, "task_id")):
        safe_id(value, what)
    if try_number is not None and try_number < 1:
        raise InvalidRequestError(f"try number must be 1 or more, not {try_number}")
    key = TaskInstanceKey(dag_id, run_id, task_id, map_index)
    attempts = {
        a.try_number: a
        for a in store.get_attempts(dag_id, run_id, task_id)
        if a.map_index == map_index
    }
    folder = Path(attempt_log_path(logs_folder, key, 1)).parent
    files = {}
    if folder.is_dir():
        for entry in folder.iterdir():
            found = _ATTEMPT_FILE.match(entry.name)
            if found:
                files[int(found.group(1))] = entry
    tries = tuple(sorted(set(attempts) | set(files)))
    if not tries:
        require_instance(store, dag_id, run_id, task_id, map_index)
        raise NoAttemptYetError(
            f"task instance {key.label!r} of run {run_id!r} has no attempts yet"
        )
    chosen = tries[-1] if try_number is None else try_number
    attempt = attempts.get(chosen)
    if attempt is not None and attempt.log_path:
        path = Path(attempt.log_path)
    else:
        path = Path(attempt_log_path(logs_folder, key, chosen))
    if not path.is_file() and (attempt is None or attempt.end_date is not None):
        path = _local_or_fetched(path, Path(attempt_log_path(logs_folder, key, chosen)), remote)
    if (attempt is None or must_exist) and not path.is_file():
        listed = ", ".join(map(str, tries))
        raise NotFoundError(
            f"no log for try {chosen} of task instance {key.label!r} of run {run_id!r}; "
            f"tries: {listed}"
        )
    return AttemptLog(key, chosen, path, attempt, tries)


def _local_or_fetched(path: Path, standard: Path, remote: RemoteLogFolder | None) -> Path:
    """The local file of a log whose recorded ``path`` is gone: its ``standard`` place in
    this logs folder (the attempt may have run on another machine), fetched there from the
    remote folder when missing. ``path`` when neither has it."""
    if standard.is_file():
        return standard
    if remote is not None and fetch_log(remote, remote.relative(standard), standard):
        return standard
    return path


def require_instance(
    store: Store, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstance:
    """The stored task instance, or an error saying which of the DAG, the run, the task or
    the map index does not exist (the wording of ``headwater tasks state``)."""
    if store.get_dag_run(dag_id, run_id) is None:
        dag_row(store, dag_id)  # an unknown DAG says so
        require_run(store, dag_id, run_id)
    return instance_of_run(store, dag_id, run_id, task_id, map_index)


def instance_of_run(
    store: Store, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstance:
    """The stored task instance of a run known to exist, or an error saying whether the task
    or only the map index is missing (naming the map indexes there are)."""
    ti = store.get_task_instance(dag_id, run_id, task_id, map_index)
    if ti is not None:
        return ti
    indexes = sorted(
        t.map_index for t in store.get_task_instances(dag_id, run_id) if t.task_id == task_id
    )
    if not indexes:
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}")
    raise NotFoundError(
        f"task {task_id!r} of run {run_id!r} has no map index {map_index}; "
        f"its map indexes: {', '.join(map(str, indexes))} (use --map-index)"
    )


def attempt_may_start(
    store: Store, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> bool:
    """Whether the instance, which has no attempt yet, may still get one: it is stored and
    not finished (``tasks logs --follow`` waits for its first attempt meanwhile)."""
    ti = store.get_task_instance(dag_id, run_id, task_id, map_index)
    return ti is not None and ti.state not in FINISHED_STATES


def attempt_ended(store: Store, log: AttemptLog) -> bool:
    """Whether the attempt of ``log`` has ended (or has no row that could say otherwise).

    Ended: its row has an end date, or its instance has moved on (a later try, or no longer
    running at this try), or is gone.
    """
    key = log.key
    for attempt in store.get_attempts(key.dag_id, key.run_id, key.task_id):
        if attempt.map_index == key.map_index and attempt.try_number == log.try_number:
            if attempt.end_date is not None:
                return True
            ti = store.get_task_instance(key.dag_id, key.run_id, key.task_id, key.map_index)
            return ti is None or (
                ti.try_number > log.try_number
                or (ti.try_number == log.try_number and ti.state is not TaskInstanceState.RUNNING)
            )
    return True
