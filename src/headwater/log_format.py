"""How the long-running processes log (``[logging] format``): text for people, or JSON
lines for log shippers (Vector, Fluent Bit, Promtail, the Datadog agent).

With ``json`` every record is one JSON object on one line of stderr::

    {"time": "2024-06-01T12:00:00.123Z", "level": "INFO", "logger": "headwater.scheduler.scheduler",
     "message": "Created run manual__2024-06-01 of etl", "dag_id": "etl",
     "run_id": "manual__2024-06-01"}

``time`` is ISO 8601 in UTC, ``exception`` holds the traceback when there is one, and the
fields of :data:`LOG_FIELDS` are there when the record carries them: code that logs about
a run or an attempt passes them with ``extra=log_fields(...)``. Registered secrets are
masked in the message and the traceback, as in task logs.

:func:`configure_process_logging` sets up the process's root logger from the setting;
:func:`uvicorn_json_log_config` does the same for uvicorn's own loggers (access and error
lines) in the API server.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headwater.masking import redact_text

__all__ = [
    "LOG_FIELDS",
    "JsonFormatter",
    "configure_process_logging",
    "configure_worker_logging",
    "fields_of",
    "log_fields",
    "uvicorn_json_log_config",
]

LOG_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "try_number")
"""The fields a record about a run or an attempt carries (``extra=log_fields(...)``)."""


def log_fields(
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    map_index: int | None = None,
    try_number: int | None = None,
) -> dict[str, Any]:
    """The ``extra=`` of a log call about a run or an attempt: the ids given (None left out).

    Example::

        log.info("Created run %s of %s", run.run_id, dag.dag_id,
                 extra=log_fields(dag.dag_id, run.run_id))
    """
    given = {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
    }
    return {name: value for name, value in given.items() if value is not None}


def fields_of(item: object) -> dict[str, Any]:
    """:func:`log_fields` of a run, a task instance, an attempt or their key: whichever of
    :data:`LOG_FIELDS` it has. ``log.warning("...", extra=fields_of(ti))``."""
    fields = {name: getattr(item, name, None) for name in LOG_FIELDS}
    return {name: value for name, value in fields.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact_text(self.formatStack(record.stack_info))
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, int | str) else str(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _iso_utc(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def json_handler() -> logging.Handler:
    """A handler writing JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    return handler


def configure_process_logging(
    log_format: str, *, level: int, text_handler: Callable[[], logging.Handler]
) -> None:
    """Send the process's log records (``level`` and up) to stderr, as JSON lines when
    ``log_format`` is ``json``, else through the handler ``text_handler()`` builds.

    Task logs stay out (they go to each attempt's file), and so do Alembic's INFO lines.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"logging.format must be 'text' or 'json', not {log_format!r}")
    handler = json_handler() if log_format == "json" else text_handler()
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("headwater.task").propagate = False
    logging.getLogger("alembic").setLevel(logging.WARNING)


def configure_worker_logging(log_format: str) -> None:
    """In a worker process (whose stderr is its scheduler's): with ``json``, headwater's own
    warnings there (a log that could not be copied, say) are JSON lines too. The task's own
    records are not: they go to the attempt's log file. Text: unchanged (Python's last
    resort prints them)."""
    logger = logging.getLogger("headwater")
    if log_format != "json" or any(
        isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers
    ):
        return
    handler = json_handler()
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)


def uvicorn_json_log_config(*, level: str = "INFO", root: bool = False) -> dict[str, Any]:
    """uvicorn's ``log_config`` for JSON lines: its error and access loggers write through
    :class:`JsonFormatter` to stderr. ``root``: the root logger too (the worker processes
    of ``api-server --workers N``, where nothing else configures it)."""
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["json"], "level": level, "propagate": False},
        },
    }
    if root:
        config["root"] = {"handlers": ["json"], "level": level}
    return config
