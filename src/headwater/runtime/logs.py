"""Per-attempt log files, and the ids that name them (validated so no id escapes the folder).

Layout: ``<logs>/dag_id=<id>/run_id=<id>/task_id=<id>[/map_index=<i>]/attempt=<n>.log``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from headwater.engine.records import TaskInstanceKey
from headwater.exceptions import HeadwaterError

TASK_LOGGER = "headwater.task"


def safe_id(value: str, what: str) -> str:
    """``value`` if it can be one folder name, else an error naming ``what``."""
    if not value or value in (".", "..") or any(c in value for c in "/\\\x00") or len(value) > 250:
        raise HeadwaterError(f"{what} {value!r} cannot name a log folder")
    return value


def attempt_log_path(logs_folder: Path, key: TaskInstanceKey, try_number: int) -> Path:
    parts = [
        f"dag_id={safe_id(key.dag_id, 'dag_id')}",
        f"run_id={safe_id(key.run_id, 'run_id')}",
        f"task_id={safe_id(key.task_id, 'task_id')}",
    ]
    if key.map_index >= 0:
        parts.append(f"map_index={key.map_index}")
    parts.append(f"attempt={int(try_number)}.log")
    return Path(os.path.join(logs_folder, *parts))


class _Formatter(logging.Formatter):
    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(
            "[%(asctime)s.%(msecs)03dZ] {%(levelname)s} %(message)s", "%Y-%m-%dT%H:%M:%S"
        )


_FORMATTER = _Formatter()


class _AttemptFileHandler(logging.Handler):
    """Writes records to the attempt's file; flushes on warnings and errors, and at the end.

    (``logging.FileHandler`` flushes every record, which costs more than a no-op task.)
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.setFormatter(_FORMATTER)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            if record.levelno >= logging.WARNING:
                self.stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


class _LogWriter(io.TextIOBase):
    """A stream that turns ``print()`` output into log records."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._logger.log(self._level, "%s", line)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._logger.log(self._level, "%s", self._buffer)
            self._buffer = ""


@contextlib.contextmanager
def capture_attempt_log(path: Path) -> Iterator[logging.Logger]:
    """Send the ``headwater.task`` logger, ``print()`` and stderr of the attempt to ``path``."""
    os.makedirs(path.parent, exist_ok=True)
    handler = _AttemptFileHandler(path)
    logger = logging.getLogger(TASK_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    out, err = _LogWriter(logger, logging.INFO), _LogWriter(logger, logging.WARNING)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield logger
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = saved
        logger.removeHandler(handler)
        handler.close()
