"""Reporting errors to Sentry (``[sentry] dsn``): task exceptions, and the errors the
scheduler, triggerer and API server log.

Each long-running process calls :func:`init_sentry` once when it starts (``headwater
scheduler``, ``triggerer``, ``api-server``, ``standalone``, and each worker process of the
local executor). Without a DSN it does nothing, and nothing else here costs more than one
check. With one:

* every ERROR record the process logs becomes a Sentry event, and the INFO records before
  it its breadcrumbs (sentry-sdk's logging integration); the ``dag_id``/``run_id``/...
  fields a record carries (:func:`headwater.log_format.log_fields`) become tags;
* a task's exception is reported by the worker with :func:`report_task_exception`: tags
  ``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``map_index``, and the last lines of
  the attempt's log as breadcrumbs (task log records themselves never become events);
* every event passes :func:`headwater.masking.redact` before it leaves the process: the
  secrets registered with the masker (connection passwords, secret variables) and values
  under sensitive names (``password``, ``token``, ...) are ``***``; personal data (IP
  addresses, request bodies, user names) stays out, as sentry-sdk's default has it.

This module sits low in the layers (beside :mod:`headwater.masking`): it knows settings,
masking and the standard library only, so every process can use it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from headwater.exceptions import HeadwaterError
from headwater.masking import redact

if TYPE_CHECKING:
    from headwater.settings import Settings

__all__ = [
    "FLUSH_TIMEOUT_S",
    "MAX_BREADCRUMBS",
    "Process",
    "init_sentry",
    "report_task_exception",
    "stop_sentry",
]

Process = Literal["scheduler", "api-server", "triggerer", "worker"]

TAG_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "try_number")
"""Fields of a log record (or a task attempt) that become tags of its Sentry event."""

MAX_BREADCRUMBS = 100
"""At most this many lines of an attempt's log go with its event (the last ones)."""

_TAIL_BYTES = 64 * 1024
"""How much of the end of an attempt's log is read for breadcrumbs."""

FLUSH_TIMEOUT_S = 2.0
"""How long a worker waits for its task report to be sent: a worker may exit (idle, or at
its task limit) without running ``atexit`` hooks, so it sends each report at once."""

TASK_LOGGER = "headwater.task"
"""The attempts' own log (:mod:`headwater.runtime.logs`): reported through
:func:`report_task_exception`, never record by record."""

_LINE_START = re.compile(r"^\[(?P<time>[0-9T:.\-]+)Z\] \{(?P<level>[A-Z]+)\} (?P<message>.*)$")
"""A line of an attempt's log (``[2024-01-01T00:00:00.000Z] {INFO} message``); other lines
continue the one before (a traceback)."""

_flush_each_report = False


def init_sentry(settings: Settings, process: Process) -> bool:
    """Start reporting this process's errors to the Sentry of ``settings.sentry.dsn``, tagged
    ``process``; False (and nothing done) without a DSN, or when this process reports to
    Sentry already (``standalone`` serves the API from the scheduler's process).

    Raises :class:`~headwater.exceptions.HeadwaterError` naming ``sentry.dsn`` for a DSN
    sentry-sdk refuses, so a process says it once, when it starts.
    """
    global _flush_each_report
    config = settings.sentry
    if not config.dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.utils import BadDsn

    if sentry_sdk.get_client().is_active():
        return False
    # The worker reports task exceptions itself, with their context and the attempt's log
    # as breadcrumbs: a task's own records must become neither events nor breadcrumbs.
    worker = process == "worker"
    try:
        sentry_sdk.init(
            dsn=config.dsn,
            environment=config.environment or None,
            release=config.release or _version(),
            sample_rate=config.sample_rate,
            before_send=_before_send,
            max_breadcrumbs=MAX_BREADCRUMBS,
            shutdown_timeout=FLUSH_TIMEOUT_S,
            auto_enabling_integrations=False,
            integrations=[
                LoggingIntegration(
                    level=None if worker else logging.INFO,
                    event_level=None if worker else logging.ERROR,
                )
            ],
        )
    except BadDsn as exc:
        raise HeadwaterError(
            f"sentry.dsn {_shown_dsn(config.dsn)!r} is not a Sentry DSN ({exc}); set it "
            "(HEADWATER__SENTRY__DSN or [sentry] dsn in headwater.toml) to the DSN of a Sentry "
            "project, like https://KEY@o1.ingest.sentry.io/123, or leave it empty"
        ) from None
    ignore_logger(TASK_LOGGER)
    sentry_sdk.set_tag("process", process)
    _flush_each_report = worker
    return True


def stop_sentry(timeout_s: float = FLUSH_TIMEOUT_S) -> None:
    """Send what is pending (waiting at most ``timeout_s``) and stop reporting: a later
    :func:`init_sentry` starts again (tests, and a process that reads new settings)."""
    global _flush_each_report
    import sentry_sdk

    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout_s)
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_isolation_scope().clear_breadcrumbs()
    sentry_sdk.get_current_scope().clear_breadcrumbs()
    _flush_each_report = False


def report_task_exception(
    exc: BaseException,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    log_path: str | os.PathLike[str] | None = None,
) -> None:
    """Report a task's exception to Sentry, when this process reports to Sentry: with the
    attempt's ids as tags and the last lines of its log (``log_path``) as breadcrumbs.
    Never raises: a report that fails is sentry-sdk's to log."""
    if "sentry_sdk" not in sys.modules:  # never set up here: not even worth an import
        return
    import sentry_sdk

    if not sentry_sdk.get_client().is_active():
        return
    tags: dict[str, str | int] = {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
    }
    with contextlib.suppress(Exception), sentry_sdk.isolation_scope() as scope:
        # Only this attempt's lines: not those an earlier attempt of the worker left.
        scope.clear_breadcrumbs()
        sentry_sdk.get_current_scope().clear_breadcrumbs()
        for name, value in tags.items():
            scope.set_tag(name, value)
        scope.set_context("task_instance", dict(tags))
        if log_path is not None:
            for crumb in log_breadcrumbs(log_path):
                scope.add_breadcrumb(crumb)
        sentry_sdk.capture_exception(exc)
    if _flush_each_report:
        sentry_sdk.flush(timeout=FLUSH_TIMEOUT_S)


def log_breadcrumbs(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The last lines of an attempt's log as Sentry breadcrumbs (at most
    :data:`MAX_BREADCRUMBS`; a line that continues another, as a traceback does, is part of
    its message). Nothing when the file cannot be read."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - _TAIL_BYTES))
            data = file.read(_TAIL_BYTES)
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line read may be cut
    crumbs: list[dict[str, Any]] = []
    for line in lines:
        start = _LINE_START.match(line)
        if start is None:
            if crumbs:
                crumbs[-1]["message"] += "\n" + line
            continue
        crumbs.append(
            {
                "type": "log",
                "category": TASK_LOGGER,
                "level": _level(start["level"]),
                "message": start["message"],
                "timestamp": _timestamp(start["time"]),
            }
        )
    return crumbs[-MAX_BREADCRUMBS:]


def _before_send(event: Any, hint: Mapping[str, Any]) -> Any:
    """Every event, last thing before it leaves: the fields a log record carried become
    tags, and every registered secret and sensitive-named value is masked."""
    extra = event.get("extra")
    if isinstance(extra, Mapping):
        tags = event.setdefault("tags", {})
        for name in TAG_FIELDS:
            if extra.get(name) is not None and isinstance(tags, dict):
                tags.setdefault(name, extra[name])
    return redact(event)


def _level(name: str) -> str:
    lowered = name.lower()
    return {"warn": "warning", "critical": "fatal"}.get(lowered, lowered)


def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        return None


def _version() -> str | None:
    try:
        return importlib.metadata.version("headwater")
    except importlib.metadata.PackageNotFoundError:
        return None


def _shown_dsn(dsn: str) -> str:
    """The DSN without its key (the part before ``@``), which is a credential."""
    scheme, sep, rest = dsn.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return dsn if len(dsn) <= 100 else dsn[:100] + "..."
