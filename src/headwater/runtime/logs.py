"""Per-attempt log files, and the ids that name them (validated so no id escapes the folder).

Layout: ``<logs>/dag_id=<id>/run_id=<id>/task_id=<id>[/map_index=<i>]/attempt=<n>.log``.
Folders headwater creates are ``0700`` and files ``0600``: only their owner reads them.

Every line is written through :func:`headwater.masking.redact_text`: a secret the attempt has
registered (``mask_secret``, a hook's connection, a variable named like a secret) never
reaches the file, from the moment it is registered. ``print()`` output is masked per
complete line (:class:`_LogWriter` holds a partial line until its newline comes), so a
secret printed in two pieces is still hidden.

When the process has a ``[logging] remote_log_folder``, what the file gains is shipped there
while the attempt runs (:mod:`headwater.runtime.log_shipping`), and the file is copied there
whole when the attempt ends (:mod:`headwater.runtime.remote_logs`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator

from headwater.engine.records import TaskInstanceKey
from headwater.exceptions import HeadwaterError
from headwater.masking import redact_text
from headwater.private_files import PRIVATE_FILE_MODE, make_private_folders, unusable_folder
from headwater.runtime.log_shipping import start_shipping, stop_shipping
from headwater.runtime.remote_logs import copy_finished_log

TASK_LOGGER = "headwater.task"


class AttemptLogError(HeadwaterError):
    """An attempt's log file cannot be created (its folder was removed, or became a file):
    the attempt fails with this one line as its error, before any task code runs."""


def require_logs_folder(logs_folder: str | os.PathLike[str]) -> None:
    """Create the logs folder (owner-only) when missing, or refuse it with one line naming
    the setting: checked when a command starts, so that a folder no log can be written to
    is said once, not as every attempt failing."""
    problem = unusable_folder(logs_folder)
    if problem is not None:
        raise HeadwaterError(
            f"logging.logs_folder {os.fspath(logs_folder)} {problem}; set it "
            "(HEADWATER__LOGGING__LOGS_FOLDER or [logging] logs_folder in headwater.toml) to "
            "a folder this user can write to"
        )


def safe_id(value: str, what: str) -> str:
    """``value`` if it can be one folder name, else an error naming ``what``."""
    if not value or value in (".", "..") or any(c in value for c in "/\\\x00") or len(value) > 250:
        raise HeadwaterError(f"{what} {value!r} cannot name a log folder")
    return value


def attempt_log_path(
    logs_folder: str | os.PathLike[str], key: TaskInstanceKey, try_number: int
) -> str:
    folder = os.path.join(
        run_log_folder(os.fspath(logs_folder), key.dag_id, key.run_id),
        f"task_id={safe_id(key.task_id, 'task_id')}",
    )
    if key.map_index >= 0:
        folder = os.path.join(folder, f"map_index={int(key.map_index)}")
    return os.path.join(folder, f"attempt={int(try_number)}.log")


@functools.lru_cache(maxsize=64)
def run_log_folder(logs_folder: str, dag_id: str, run_id: str) -> str:
    """``<logs>/dag_id=<id>/run_id=<id>``: the folder of one run's logs (ids validated)."""
    return os.path.join(
        logs_folder, f"dag_id={safe_id(dag_id, 'dag_id')}", f"run_id={safe_id(run_id, 'run_id')}"
    )


def _make_folder(folder: str) -> None:
    # Logs hold whatever tasks print: owner-only, like the database (0700 folders).
    make_private_folders(folder)


class _Formatter(logging.Formatter):
    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(
            "[%(asctime)s.%(msecs)03dZ] {%(levelname)s} %(message)s", "%Y-%m-%dT%H:%M:%S"
        )


_FORMATTER = _Formatter()


@functools.lru_cache(maxsize=4)
def _second_stamp(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class _AttemptFile:
    """The open log file of one attempt. Each line goes straight to the file (no buffer), so
    a reader following the log sees it at once, and a crash loses nothing already written.
    Everything written here has the registered secrets masked first: the one way in."""

    def __init__(self, path: str, *, append: bool = False) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
        # 0600 whatever the umask (which can only take bits away): owner-only, at no cost.
        self._fd = os.open(path, flags, PRIVATE_FILE_MODE)

    def write(self, text: str) -> None:
        data = redact_text(text).encode("utf-8", "replace")
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def write_line(self, level: int, message: str) -> None:
        """Write one of headwater's own lines, formatted like a record, without a record."""
        now = time.time()
        self.write(
            f"[{_second_stamp(int(now))}.{int(now % 1 * 1000):03d}Z] "
            f"{{{logging.getLevelName(level)}}} {message}\n"
        )

    def close(self) -> None:
        os.close(self._fd)


def append_attempt_line(path: str, level: int, message: str) -> None:
    """Append one of headwater's own lines to an attempt's log from outside the attempt (the
    scheduler recording why it stopped it), formatted as the runtime writes them."""
    _make_folder(os.path.dirname(path))
    file = _AttemptFile(path, append=True)
    try:
        file.write_line(level, message)
    finally:
        file.close()


# The attempt whose file records go to: set in this context by capture_attempt_log; threads
# started by a task have a fresh context, so they fall back to the attempt opened last.
_current_file: contextvars.ContextVar[_AttemptFile | None] = contextvars.ContextVar(
    "headwater_attempt_file", default=None
)
_open_files: list[_AttemptFile] = []


class _AttemptRouter(logging.Handler):
    """The one handler of the ``headwater.task`` logger: writes each record to the file of
    the attempt that is running (one handler for all attempts costs less than one each)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_FORMATTER)

    def emit(self, record: logging.LogRecord) -> None:
        target = _current_file.get() or (_open_files[-1] if _open_files else None)
        try:
            if target is not None:
                target.write(self.format(record) + "\n")
            elif record.levelno >= logging.WARNING and sys.__stderr__ is not None:
                sys.__stderr__.write(self.format(record) + "\n")  # outside attempts: lastResort
        except Exception:
            self.handleError(record)


class _RootToAttempt(logging.Handler):
    """On the root logger while an attempt runs: the records of the task's own loggers
    (``logging.info(...)``, ``logging.getLogger(__name__)``) go to the attempt's file too, as
    in Airflow. headwater's internal loggers stay out of task logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(_FORMATTER)

    def emit(self, record: logging.LogRecord) -> None:
        target = _current_file.get()
        if target is None or record.name.startswith("headwater."):
            return
        try:
            target.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


_ROOT_TO_ATTEMPT = _RootToAttempt()


class _RedactRecord(logging.Filter):
    """On every handler of the root logger while an attempt runs: the records of the
    task's own loggers are masked in place before any handler writes them, so the
    process's console (a worker's stderr, ``dags test`` output) shows ``***`` too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "headwater_redacted", False):
            return True
        message = record.getMessage()
        shown = redact_text(message)
        if shown != message:
            record.msg, record.args = shown, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        record.headwater_redacted = True
        return True


_REDACT_RECORD = _RedactRecord()


def _task_logger() -> logging.Logger:
    logger = logging.getLogger(TASK_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # an attempt's lines go to its own file only
    logger.addHandler(_AttemptRouter())
    return logger


_TASK_LOG = _task_logger()


MAX_PARTIAL_LINE = 64 * 1024
"""A ``print()`` without a newline is held until its line ends, up to this many characters;
a longer partial line is written as it is (memory stays bounded; a secret cut at that
point may show)."""


class _LogWriter(io.TextIOBase):
    """A stream that turns ``print()`` output into log records, one per complete line, so
    that masking sees whole lines (``print(a, end=""); print(b)`` is one line ``ab``).
    Threads of the task may print at once: the partial line is guarded by a lock."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level
        self._buffer = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            lines = self._buffer.split("\n")
            self._buffer = lines.pop()
            if len(self._buffer) > MAX_PARTIAL_LINE:
                lines.append(self._buffer)
                self._buffer = ""
        for line in lines:
            self._logger.log(self._level, "%s", line)
        return len(text)

    def flush(self) -> None:
        """Nothing: a partial line waits for its end even after ``print(..., flush=True)``,
        else a secret printed in two flushed pieces would be masked in neither."""

    def finish(self) -> None:
        """Write the partial line left when the attempt ends."""
        with self._lock:
            line, self._buffer = self._buffer, ""
        if line:
            self._logger.log(self._level, "%s", line)


class AttemptLog:
    """The log of one attempt: ``logger`` for task code, :meth:`line` for headwater's own lines."""

    def __init__(self, logger: logging.Logger, file: _AttemptFile, path: str) -> None:
        self.logger = logger
        self.path = path
        """The log file."""
        self._file = file

    def line(self, level: int, message: str) -> None:
        self._file.write_line(level, message)


@contextlib.contextmanager
def capture_attempt_log(path: str) -> Iterator[AttemptLog]:
    """Send the ``headwater.task`` logger, the task's other loggers (INFO and up),
    ``print()`` and stderr of the attempt to ``path``. Raises :class:`AttemptLogError`
    when the file cannot be created."""
    try:
        _make_folder(os.path.dirname(path))
        file = _AttemptFile(path)
    except OSError as exc:
        raise AttemptLogError(
            f"cannot write the attempt's log {path}: {exc.strerror or exc}"
        ) from None
    start_shipping(path)  # to the remote folder while it runs, when this process has one
    token = _current_file.set(file)
    _open_files.append(file)
    out, err = _LogWriter(_TASK_LOG, logging.INFO), _LogWriter(_TASK_LOG, logging.WARNING)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    root = logging.getLogger()
    root_level = root.level
    if root_level > logging.INFO:
        root.setLevel(logging.INFO)
    root.addHandler(_ROOT_TO_ATTEMPT)
    filtered = [h for h in root.handlers if _REDACT_RECORD not in h.filters]
    for handler in filtered:
        handler.addFilter(_REDACT_RECORD)
    try:
        yield AttemptLog(_TASK_LOG, file, path)
    finally:
        root.removeHandler(_ROOT_TO_ATTEMPT)
        for handler in filtered:
            handler.removeFilter(_REDACT_RECORD)
        if root.level != root_level:  # setLevel empties every logger's cache: not for nothing
            root.setLevel(root_level)
        out.finish()
        err.finish()
        sys.stdout, sys.stderr = saved
        _open_files.remove(file)
        _current_file.reset(token)
        file.close()
        shipped = stop_shipping(path)
        copy_finished_log(path, remove_live=shipped)  # the second sink, when this process has one
