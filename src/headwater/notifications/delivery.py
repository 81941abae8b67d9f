"""Sending one notification: render, prepare, then try up to ``[notifications] max_tries``
times, waiting ``retry_delay_s`` before the second try and twice as long before each next
one; each try is bounded by ``timeout_s`` (the notifiers pass it to their clients).

A notification that finally fails never raises into its caller: it is logged (the error's
secrets masked) and handed to the failure reporters in force where it was started
(:func:`report_failures_to`): the runtime's reporter writes the attempt log line and the
``notification_failed`` event.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater.masking import redact_text

if TYPE_CHECKING:
    from headwater.notifications.base import BaseNotifier, Context
    from headwater.settings import NotificationSettings, Settings

log = logging.getLogger("headwater.notifications")

FailureReporter = Callable[["NotificationFailure"], None]


@dataclass(frozen=True)
class NotificationFailure:
    """A notification that did not go out: which notifier, why (masked), after how many
    tries, and the context it was called with."""

    notifier: str
    error: str
    tries: int
    context: Context

    @property
    def detail(self) -> str:
        """The event log's detail: ``<NotifierClass>: <error>``."""
        return f"{self.notifier}: {self.error}"


_reporters: contextvars.ContextVar[tuple[FailureReporter, ...]] = contextvars.ContextVar(
    "headwater_notification_reporters", default=()
)


@contextlib.contextmanager
def report_failures_to(reporter: FailureReporter) -> Iterator[None]:
    """Within the block, notifications that finally fail are also given to ``reporter``
    (blocks nest; a reporter that raises is logged and skipped)."""
    token = _reporters.set((*_reporters.get(), reporter))
    try:
        yield
    finally:
        _reporters.reset(token)


def current_reporters() -> tuple[FailureReporter, ...]:
    return _reporters.get()


def error_text(exc: BaseException, notifier: str) -> str:
    """What went wrong, for people, secrets masked: a :class:`NotificationError`'s message
    (without the notifier's name, said elsewhere), else ``Type: message``."""
    from headwater.notifications.base import NotificationError

    text = str(exc) if isinstance(exc, NotificationError) else f"{type(exc).__name__}: {exc}"
    text = text.removeprefix(f"{notifier}: ")
    return redact_text(text)


def retry_delays(settings: NotificationSettings) -> list[float]:
    """The waits between tries: ``[d, 2d, 4d, ...]``, one fewer than ``max_tries``."""
    return [settings.retry_delay_s * 2**n for n in range(settings.max_tries - 1)]


def longest_send_s(settings: NotificationSettings) -> float:
    """The longest one notification can take, retries included."""
    return settings.max_tries * settings.timeout_s + sum(retry_delays(settings))


def prepare(notifier: BaseNotifier, context: Context, settings: Settings) -> BaseNotifier:
    """The notifier rendered with ``context`` and prepared (connections looked up): what
    :func:`send` sends, maybe in another thread. Raises what went wrong."""
    rendered = notifier.render(context, settings)
    rendered.prepare()
    return rendered


def send(
    prepared: BaseNotifier,
    context: Context,
    settings: NotificationSettings,
    *,
    wait: Callable[[float], None] = time.sleep,
) -> int:
    """Send with retries; returns the tries it took, or raises the last try's error."""
    delays = retry_delays(settings)
    name = type(prepared).__name__
    for tries in range(1, settings.max_tries + 1):
        try:
            prepared.notify(context)
            return tries
        except Exception as exc:
            if tries == settings.max_tries:
                raise
            delay = delays[tries - 1]
            log.warning(
                "%s: try %d of %d failed (%s), next in %g s",
                name,
                tries,
                settings.max_tries,
                error_text(exc, name),
                delay,
            )
            wait(delay)
    raise AssertionError("unreachable: max_tries is at least 1")


def report_failure(
    notifier: BaseNotifier,
    exc: BaseException,
    tries: int,
    context: Context,
    reporters: tuple[FailureReporter, ...],
) -> NotificationFailure:
    """Log the failure and hand it to ``reporters``."""
    name = type(notifier).__name__
    failure = NotificationFailure(name, error_text(exc, name), tries, context)
    log.error("Notification failed after %d tries: %s", tries, failure.detail)
    for reporter in reporters:
        try:
            reporter(failure)
        except Exception:
            log.exception("Reporting the failed notification of %s failed", failure.notifier)
    return failure


def deliver(
    notifier: BaseNotifier,
    context: Context,
    *,
    settings: Settings | None = None,
    reporters: tuple[FailureReporter, ...] | None = None,
    wait: Callable[[float], None] = time.sleep,
) -> bool:
    """Render, prepare and send ``notifier`` now; whether it went out. Never raises."""
    if reporters is None:
        reporters = current_reporters()
    try:
        if settings is None:
            from headwater.settings import load_settings

            settings = load_settings()
        prepared = prepare(notifier, context, settings)
    except Exception as exc:
        report_failure(notifier, exc, 0, context, reporters)
        return False
    return send_prepared(prepared, context, settings.notifications, reporters, wait=wait)


def send_prepared(
    prepared: BaseNotifier,
    context: Context,
    settings: NotificationSettings,
    reporters: tuple[FailureReporter, ...],
    *,
    wait: Callable[[float], None] = time.sleep,
) -> bool:
    """:func:`send`, reporting a final failure instead of raising it."""
    try:
        tries = send(prepared, context, settings, wait=wait)
    except Exception as exc:
        report_failure(prepared, exc, settings.max_tries, context, reporters)
        return False
    log.info("%s sent the notification (try %d)", type(prepared).__name__, tries)
    return True


def context_summary(context: Context) -> dict[str, Any]:
    """The identity fields of a context (for events): dag_id, run_id, task_id, map_index,
    try_number when known."""
    ti = context.get("ti")
    run = context.get("dag_run")
    dag = context.get("dag")
    return {
        "dag_id": getattr(ti, "dag_id", None)
        or getattr(run, "dag_id", None)
        or getattr(dag, "dag_id", None),
        "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
        "task_id": getattr(ti, "task_id", None) or context.get("task_id"),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
    }
