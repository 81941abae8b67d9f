"""Calling a task's callbacks (``on_success``, ``on_failure``, ``on_retry``,
``on_skipped``) in the process that ran the attempt.

A plain function is called at once, in the attempt (its errors are logged, never change
the outcome). A notifier (:class:`headwater.notifications.BaseNotifier`) is rendered and
prepared at once, where templates and connection lookups see the attempt's context and
store, then handed to the process's background sender (:mod:`headwater.notifications.outbox`):
it goes out while the outcome is recorded and the next task starts, so a slow or hanging
backend holds up nothing. A notification that finally fails writes a line in the attempt's
log and a ``notification_failed`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.notifications import BaseNotifier
from headwater.notifications.delivery import (
    FailureReporter,
    NotificationFailure,
    current_reporters,
    prepare,
    report_failure,
)
from headwater.notifications.outbox import send_in_background

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.store.base import MetadataStore

KINDS = ("success", "failure", "retry", "skipped")


def callbacks_of(owner: Any, attribute: str) -> list[Callable[[dict[str, Any]], Any]]:
    """The callable(s) an ``on_*_callback`` attribute holds, as a list."""
    callback = getattr(owner, attribute, None)
    if callback is None:
        return []
    return list(callback) if isinstance(callback, list | tuple) else [callback]


def event_reporter(
    store: MetadataStore | None, now: Callable[[], datetime], log_path: str | None = None
) -> FailureReporter:
    """A reporter that appends a line to the attempt's log (when there is one) and records
    a ``notification_failed`` event (when ``store`` keeps an event log)."""
    from headwater.store.ports import EventLog

    def report(failure: NotificationFailure) -> None:
        if log_path:
            from headwater.runtime.logs import append_attempt_line

            append_attempt_line(
                log_path,
                logging.ERROR,
                f"Notification failed after {failure.tries} tries: {failure.detail}",
            )
        if isinstance(store, EventLog):
            from headwater.notifications.delivery import context_summary

            store.record_event(
                "notification_failed",
                at=now(),
                detail=failure.detail,
                **context_summary(failure.context),
            )

    return report


def call_task_callbacks(
    kind: str,
    task: BaseOperator,
    context: dict[str, Any],
    log: logging.Logger,
    reporter: FailureReporter,
) -> None:
    """Call ``task``'s ``on_<kind>_callback``(s) with ``context`` (see the module's text)."""
    callbacks = callbacks_of(task, f"on_{kind}_callback")
    if not callbacks:
        return
    context = {**context, "callback_kind": kind}
    for fn in callbacks:
        if isinstance(fn, BaseNotifier):
            _send_later(fn, context, log, reporter)
            continue
        try:
            fn(context)
        except Exception:
            log.exception(
                "on_%s_callback of %s raised; the task's state is unchanged", kind, task.task_id
            )


def _send_later(
    notifier: BaseNotifier,
    context: dict[str, Any],
    log: logging.Logger,
    reporter: FailureReporter,
) -> None:
    from headwater.settings import load_settings

    reporters = (*current_reporters(), reporter)
    try:
        settings = load_settings()
        prepared = prepare(notifier, context, settings)
    except Exception as exc:
        report_failure(notifier, exc, 0, context, reporters)
        return
    if send_in_background(prepared, context, settings.notifications, reporters):
        log.info("%s: notification queued, sent in the background", type(notifier).__name__)
