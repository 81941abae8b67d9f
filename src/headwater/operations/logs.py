"""Finding the log file of one attempt of a task instance (``headwater tasks logs``).

Ids are checked with :func:`~headwater.runtime.logs.safe_id` before anything else, so no id
can point outside the logs folder. The file is the attempt row's ``log_path`` when the
database has one, else the standard place (:func:`~headwater.runtime.logs.attempt_log_path`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engine.records import TaskAttempt, TaskInstanceKey
from headwater.operations.errors import InvalidRequestError, NotFoundError
from headwater.runtime.logs import attempt_log_path, safe_id

if TYPE_CHECKING:
    from headwater.store.sql import SqlStore

_ATTEMPT_FILE = re.compile(r"^attempt=(\d+)\.log$")


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
    store: SqlStore,
    logs_folder: str | os.PathLike[str],
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
    must_exist: bool = True,
) -> AttemptLog:
    """The log of try ``try_number`` (default: the latest) of one task instance.

    Raises when an id cannot name a log folder, when the instance has no attempt at all,
    and (with ``must_exist``) when the file is missing: the message lists the tries there are.
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
        raise NotFoundError(f"task instance {key.label!r} of run {run_id!r} has no attempts yet")
    chosen = tries[-1] if try_number is None else try_number
    attempt = attempts.get(chosen)
    if attempt is not None and attempt.log_path:
        path = Path(attempt.log_path)
    else:
        path = Path(attempt_log_path(logs_folder, key, chosen))
    if (attempt is None or must_exist) and not path.is_file():
        listed = ", ".join(map(str, tries))
        raise NotFoundError(
            f"no log for try {chosen} of task instance {key.label!r} of run {run_id!r}; "
            f"tries: {listed}"
        )
    return AttemptLog(key, chosen, path, attempt, tries)


def attempt_ended(store: SqlStore, log: AttemptLog) -> bool:
    """Whether the attempt of ``log`` has ended (or has no row that could say otherwise)."""
    key = log.key
    for attempt in store.get_attempts(key.dag_id, key.run_id, key.task_id):
        if attempt.map_index == key.map_index and attempt.try_number == log.try_number:
            return attempt.end_date is not None
    return True
