"""Task logs: find the log file of one attempt of a task instance, and tell whether the
attempt has ended (``headwater tasks logs``, ``--follow``).

The services say which file, whether more can come, and read it (:func:`read_log_bytes`,
:func:`read_log`): the local file, or the copy in ``[logging] remote_log_folder`` when the
attempt ran on another machine (see :func:`find_attempt_log`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.operations.logs import AttemptLog as OperationsLog
    from headwater.runtime.remote_logs import RemoteLogFolder
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
    cannot name a log folder.

    With ``[logging] remote_log_folder``, this is where a reader chooses between the local
    file and the remote copy: a log written in another logs folder (on another machine) is
    read from its place in this one when it is there, else (``path`` then does not exist)
    from the remote copy (:func:`read_log_bytes`): the complete copy of an ended attempt is
    fetched to that place, a running attempt's shipped parts are read where they are."""
    from headwater.operations import find_attempt_log as find
    from headwater.runtime.remote_logs import remote_log_folder

    remote = remote_log_folder(ctx.settings)
    found = find(
        ctx.store,
        ctx.settings.logs_folder,
        dag_id,
        run_id,
        task_id,
        map_index=map_index,
        try_number=try_number,
        must_exist=must_exist and remote is None,
        remote=remote,
    )
    key = found.key
    path = found.path
    if remote is not None:
        path = _local_or_remote(ctx, found, remote)
        if must_exist and not path.is_file() and not _has_remote_copy(remote, path):
            from headwater.services.errors import NotFoundError

            raise NotFoundError(
                f"no log for try {found.try_number} of task instance {key.label!r} of run "
                f"{run_id!r}; tries: {', '.join(map(str, found.tries))}"
            )
    return AttemptLogOut(
        dag_id=key.dag_id,
        run_id=key.run_id,
        task_id=key.task_id,
        map_index=key.map_index,
        try_number=found.try_number,
        path=path,
        tries=list(found.tries),
    )


def _local_or_remote(ctx: ServiceContext, found: OperationsLog, remote: RemoteLogFolder) -> Path:
    """Where a reader reads the log of ``found``: its recorded file when it is in this logs
    folder; else (written in another one: another machine's) its place in this folder,
    fetched there from the remote folder once the attempt has ended."""
    from headwater.runtime.logs import attempt_log_path
    from headwater.runtime.remote_logs import fetch_log

    logs_folder = Path(ctx.settings.logs_folder).absolute()
    if found.path.absolute().is_relative_to(logs_folder):
        return found.path
    standard = Path(attempt_log_path(logs_folder, found.key, found.try_number))
    ended = found.attempt is None or found.attempt.end_date is not None
    if not standard.is_file() and ended:
        fetch_log(remote, remote.relative(standard), standard)
    return standard


def _has_remote_copy(remote: RemoteLogFolder, path: Path) -> bool:
    from headwater.runtime.remote_logs import has_remote_log

    return has_remote_log(remote, remote.relative(path))


def read_log_bytes(
    ctx: ServiceContext, log: AttemptLogOut, offset: int = 0, max_bytes: int = 1 << 20
) -> tuple[bytes, int]:
    """Up to ``max_bytes`` of the log of ``log`` from byte ``offset``, as written (masked
    when written), and the log's size so far: from the local file when there is one, else
    from the remote copy (complete, or the parts shipped so far of a running attempt, which
    lag the worker's file by at most ``[logging] remote_log_flush_interval_s``). Nothing
    and 0 when neither exists yet."""
    from headwater.runtime.remote_logs import read_remote_log, remote_log_folder

    if log.path.is_file():
        return _read(log.path, offset, max_bytes)
    remote = remote_log_folder(ctx.settings)
    if remote is None:
        return b"", 0
    found = read_remote_log(remote, remote.relative(log.path), offset, max_bytes)
    return found if found is not None else (b"", 0)


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


MAX_LOG_CHUNK = 1 << 20
"""The most bytes one :func:`read_log` answers (a client asks again from ``next_offset``)."""
MIN_LOG_CHUNK = 4
"""The fewest bytes a read may ask for: one UTF-8 character always fits."""


class LogChunkOut(Schema):
    """Part of an attempt's log, from byte ``offset`` to ``next_offset``, masked.

    A client follows a running attempt by asking again from ``next_offset`` until
    ``complete``: the attempt has ended and everything it wrote was read."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    tries: list[int]
    content: str
    offset: int
    next_offset: int
    complete: bool


def read_log(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int | None = None,
    offset: int = 0,
    max_bytes: int = 256 * 1024,
) -> LogChunkOut:
    """At most ``max_bytes`` of the log of try ``try_number`` (default: the latest) from
    byte ``offset`` on, with every secret shown as ``***``.

    The chunk ends after a whole line whenever it can (a secret is never split between two
    chunks, where the masker could not see it), and never inside a UTF-8 character; a line
    still being written, without its newline, waits for the next read unless the attempt
    has ended. ``complete`` is only true once the attempt has ended (checked before the
    file is read, so nothing written before the end is missed) and the chunk reaches the
    end of the file. Not found names what is missing (:class:`NoAttemptYetError` when the
    instance has not started); a negative or too large offset is invalid, naming the field.
    """
    from headwater.masking import redact_text
    from headwater.services.errors import InvalidRequestError
    from headwater.services.xcoms import mask_stored_secrets

    if offset < 0:
        raise InvalidRequestError(f"offset: must be 0 or more, not {offset}")
    if not MIN_LOG_CHUNK <= max_bytes <= MAX_LOG_CHUNK:
        raise InvalidRequestError(
            f"max_bytes: must be from {MIN_LOG_CHUNK} to {MAX_LOG_CHUNK}, not {max_bytes}"
        )
    found = find_attempt_log(
        ctx,
        dag_id,
        run_id,
        task_id,
        map_index=map_index,
        try_number=try_number,
        must_exist=False,
    )
    ended = attempt_ended(ctx, found)  # before reading: what it wrote before ending is there
    data, size = read_log_bytes(ctx, found, offset, max_bytes)
    if offset > size:
        raise InvalidRequestError(
            f"offset: {offset} is past the end of the log of try {found.try_number} ({size} bytes)"
        )
    if not (ended and offset + len(data) == size):
        data = data[: _chunk_end(data, whole_lines=len(data) < max_bytes)]
    next_offset = offset + len(data)
    mask_stored_secrets(ctx)
    return LogChunkOut(
        dag_id=found.dag_id,
        run_id=found.run_id,
        task_id=found.task_id,
        map_index=found.map_index,
        try_number=found.try_number,
        tries=found.tries,
        content=redact_text(data.decode("utf-8", errors="replace")),
        offset=offset,
        next_offset=next_offset,
        complete=ended and next_offset == size,
    )


def _read(path: Path, offset: int, max_bytes: int) -> tuple[bytes, int]:
    """Up to ``max_bytes`` of ``path`` from ``offset``, and the file's size (0 and nothing
    for a file not written yet)."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            if offset >= size:
                return b"", size
            file.seek(offset)
            return file.read(max_bytes), size
    except FileNotFoundError:
        return b"", 0


def _chunk_end(data: bytes, *, whole_lines: bool) -> int:
    """Where a chunk of ``data`` that more bytes follow should end: after its last newline;
    without one, nothing (``whole_lines``: the line is still being written) or the last
    whole UTF-8 character (a line longer than a chunk)."""
    newline = data.rfind(b"\n")
    if newline >= 0:
        return newline + 1
    if whole_lines:
        return 0
    return _whole_characters(data)


def _whole_characters(data: bytes) -> int:
    """The length of ``data`` without a UTF-8 character cut at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII): how long is its character?
            length = 1 if byte < 0x80 else 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= length else len(data) - back
    return len(data)
