"""Task logs: find the log file of one attempt of a task instance, and tell whether the
attempt has ended (``headwater tasks logs``, ``--follow``).

The file is read by the caller (it may be followed as it grows); the services say which
file, and whether more can come.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class AttemptLogOut(Schema):
    """Where the log of one attempt is."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    path: Path
    tries: list[int]
    """Every try of the instance with an attempt row or a log file."""


def find_attempt_log(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
    must_exist: bool = True,
) -> AttemptLogOut:
    """The log of try ``try_number`` (default: the latest) of one task instance, in the
    settings' logs folder. Not found names what is missing (the DAG, the run, the task, the
    map index; :class:`~headwater.services.errors.NoAttemptYetError` when only an attempt
    is), or, with ``must_exist``, lists the tries whose file exists; invalid for an id that
    cannot name a log folder."""
    from headwater.operations import find_attempt_log as find

    found = find(
        ctx.store,
        ctx.settings.logs_folder,
        dag_id,
        run_id,
        task_id,
        map_index=map_index,
        try_number=try_number,
        must_exist=must_exist,
    )
    key = found.key
    return AttemptLogOut(
        dag_id=key.dag_id,
        run_id=key.run_id,
        task_id=key.task_id,
        map_index=key.map_index,
        try_number=found.try_number,
        path=found.path,
        tries=list(found.tries),
    )


def attempt_may_start(
    ctx: ServiceContext, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> bool:
    """Whether an instance without an attempt may still get one (stored, not finished)."""
    from headwater.operations.logs import attempt_may_start as may_start

    return may_start(ctx.store, dag_id, run_id, task_id, map_index)


def attempt_ended(ctx: ServiceContext, log: AttemptLogOut) -> bool:
    """Whether the attempt of ``log`` has ended: its row has an end date, or its instance
    moved on (a later try, no longer running) or is gone."""
    from headwater.engine.records import TaskInstanceKey
    from headwater.operations.logs import AttemptLog
    from headwater.operations.logs import attempt_ended as ended

    key = TaskInstanceKey(log.dag_id, log.run_id, log.task_id, log.map_index)
    return ended(ctx.store, AttemptLog(key, log.try_number, log.path, None, tuple(log.tries)))
