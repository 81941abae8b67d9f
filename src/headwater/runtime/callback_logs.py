"""The log file of a callback process (a DAG's callbacks, a deadline's): what its callbacks
and notifiers log, in the task logs' line format, with every registered secret masked.

A notifier looks its connection up in that process, which registers the connection's
password and extra as secrets; the lines logged after that (httpx's ``HTTP Request: POST
https://hooks.slack.com/services/<token>``, an error naming the URL) show ``***`` instead,
as they would in a task's log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from headwater.masking import redact_text


class _MaskedLines(logging.Formatter):
    """``[2024-06-01T12:00:00.123Z] {INFO} message``, masked (traceback included)."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(
            "[%(asctime)s.%(msecs)03dZ] {%(levelname)s} %(message)s", "%Y-%m-%dT%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def log_callbacks_to(path: Path) -> None:
    """Send this process's log records (INFO and up) to ``path``, appended, masked."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_MaskedLines())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
