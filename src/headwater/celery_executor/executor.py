"""CeleryExecutor: attempts go through a broker (Redis or RabbitMQ) to ``headwater celery
worker`` processes on any machine.

``queue(key)`` only notes the key; the next :meth:`CeleryExecutor.poll` (or
:meth:`~CeleryExecutor.heartbeat`) asks the scheduler for the attempt's message
(``prepare_attempt``) and sends it to the Celery queue of the task's ``queue`` (``'default'``
is ``[celery] default_queue``) under a task id derived from the key
(:func:`~headwater.celery_executor.app.task_id_for`). A broker that does not take it within
``[celery] send_timeout_s`` puts the key back (a warning, once per outage); it is sent again two
seconds later, never lost. An attempt with an ``execution_timeout`` gets a Celery hard time
limit ``kill_grace_s`` (and ``[celery] time_limit_allowance_s`` to start) after it: the
runtime's own timeout normally ends it first, FAILED; the hard limit is the backstop for a
task that ignores signals.

``poll`` reads the result backend for a bounded batch of the watched attempts per call (one
``MGET`` on Redis): STARTED becomes an :class:`~headwater.executors.base.AttemptStarted`
(hostname, pid), an ended task its outcome. A result saying the try was ``rejected`` (a
second delivery of a claimed try) is not an outcome: the executor then watches the attempt's
row in the database, where the claimer records how it ended.

Celery cannot tell the scheduler that a worker died, so :meth:`running` claims nothing: the
worker heartbeats its attempt's row, and the scheduler fails an attempt whose heartbeat is
older than ``[scheduler] task_heartbeat_timeout_s`` (it retries per its ``retries``). The rows
of watched attempts are also read, ``ROWS_PER_HEARTBEAT`` per heartbeat, so an attempt the
scheduler ended that way stops being watched.

Celery cannot tell it either that the broker lost messages (a Redis broker restarted without
persistence loses all): each heartbeat asks the broker
(:class:`~headwater.celery_executor.broker_watch.BrokerWatch`), and when it restarted or the
connection to it broke, the attempts not started yet are sent again under the same task ids
(a delivery that finds its try claimed is refused).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from headwater.celery_executor.app import RUN_ATTEMPT_TASK, build_app, queue_for, task_id_for
from headwater.celery_executor.broker_watch import BrokerWatch
from headwater.celery_executor.results import TIMED_OUT, read_reports
from headwater.clock import Clock, SystemClock
from headwater.db.reconnect import short_reason
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskAttempt
from headwater.engine.states import TaskInstanceState
from headwater.executors.base import AttemptStarted, Executor

if TYPE_CHECKING:
    from headwater.executors.messages import AttemptMessage
    from headwater.settings_scale_out import CelerySettings

__all__ = ["CeleryExecutor"]

log = logging.getLogger(__name__)

BATCH = 500
"""The most attempts sent, or read from the result backend, in one call."""

ROWS_PER_HEARTBEAT = 50
"""The most attempt rows read per heartbeat (round robin over the watched attempts)."""

_RETRY_SEND_S = 2.0
"""After the broker refused a message, how long before sending again."""

_WAIT_STEPS_S = (0.005, 0.01, 0.02, 0.05)
"""How long ``poll`` waits between reads of the result backend: short at first."""


class AttemptRows(Protocol):
    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None: ...


class _Watched:
    __slots__ = ("in_database", "key", "started", "timeout_s")

    def __init__(self, key: AttemptKey, timeout_s: float | None, *, started: bool) -> None:
        self.key = key
        self.timeout_s = timeout_s
        self.started = started
        self.in_database = False
        """Rejected by the worker (another delivery claimed it): watch the row instead."""


class CeleryExecutor(Executor):
    """Runs attempts on Celery workers; see the module docstring.

    Example::

        executor = CeleryExecutor(settings.celery, prepare=prepare, attempts=store)
        executor.queue(key)
        finished = executor.poll(timeout=1.0)   # [(key, AttemptOutcome), ...]
    """

    def __init__(
        self,
        settings: CelerySettings,
        *,
        prepare: Callable[[AttemptKey], AttemptMessage | None],
        attempts: AttemptRows,
        kill_grace_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._app = build_app(settings)
        _read_results_by_polling(self._app)
        self._prepare = prepare
        self._attempts = attempts
        self._kill_grace_s = kill_grace_s
        self._clock: Clock = clock or SystemClock()
        self._pending: deque[AttemptKey] = deque()
        self._watched: dict[str, _Watched] = {}
        self._order: deque[str] = deque()
        self._started_events: list[AttemptStarted] = []
        self._finished: list[tuple[AttemptKey, AttemptOutcome]] = []
        self._send_after: datetime | None = None
        self._broker_down = False
        self._backend_down = False
        self._watch_broker = BrokerWatch(self._app, settings.broker_url, settings.send_timeout_s)
        self._row_cursor = 0

    # -- the interface ---------------------------------------------------------------------

    def queue(self, key: AttemptKey) -> None:
        self._pending.append(key)

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        deadline = time.monotonic() + max(timeout, 0.0)
        step = 0
        while True:
            self._send_pending()
            self._read_backend()
            if self._finished or self._started_events or time.monotonic() >= deadline:
                break
            wait = _WAIT_STEPS_S[min(step, len(_WAIT_STEPS_S) - 1)]
            time.sleep(min(wait, max(deadline - time.monotonic(), 0.0)))
            step += 1
        finished, self._finished = self._finished, []
        return finished

    def started(self) -> list[AttemptStarted]:
        events, self._started_events = self._started_events, []
        return events

    def heartbeat(self) -> None:
        if self._watch_broker.restarted():
            self._send_unstarted_again()
        self._send_pending()
        self._check_rows()

    def running(self) -> Mapping[AttemptKey, object]:
        return {}  # Celery cannot say whether a worker lives: the attempts' heartbeats do

    def adopt(
        self,
        key: AttemptKey,
        pid: int,
        hostname: str,
        started_at: datetime,
        timeout_s: float | None,
    ) -> bool:
        task_id = task_id_for(key, self._settings)
        if task_id not in self._watched:
            self._watch(task_id, _Watched(key, timeout_s, started=True))
        log.info(
            "Watching task %s try %d again (Celery task %s)", key.task_id, key.try_number, task_id
        )
        return True

    def kill(self, key: AttemptKey) -> None:
        if key in self._pending:
            self._pending.remove(key)  # not sent, or sent again after a broker restart
        task_id = task_id_for(key, self._settings)
        watched = self._watched.pop(task_id, None)
        if watched is None:
            return
        self._revoke([task_id])
        error = "killed: its Celery task was revoked"
        self._finished.append((key, AttemptOutcome(TaskInstanceState.FAILED, error=error)))

    def stop(self) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Revoke the attempts that started, killing their processes (the scheduler ends them
        as stopped and their next try runs when a scheduler starts) and close the broker
        connections.

        Messages not started yet stay in their queue: the scheduler puts their instances
        back with the same try, which the next scheduler sends again under the same task
        id (a revoke would make workers discard that id for good); whichever delivery
        claims the try runs it, once."""
        # SIGKILL, not SIGTERM: a child process that unwinds records its attempt FAILED
        # before the scheduler records it stopped, and a stop would then fail the task
        # (without a retry) instead of running it again (seen on a loaded machine).
        started = [task_id for task_id, w in self._watched.items() if w.started]
        self._revoke(started, signal="SIGKILL")
        self._watched.clear()
        self._order.clear()
        self._pending.clear()
        finished, self._finished = self._finished, []
        self._watch_broker.close()
        self._app.close()
        return finished

    @property
    def has_work(self) -> bool:
        return bool(self._pending or self._watched or self._finished)

    # -- sending ---------------------------------------------------------------------------

    def _send_pending(self) -> None:
        now = self._clock.now()
        if self._send_after is not None and now < self._send_after:
            return
        if not self._pending:
            return
        try:
            # One producer (one broker connection from the pool) for the whole batch.
            with self._app.producer_or_acquire() as producer:
                for _ in range(min(len(self._pending), BATCH)):
                    key = self._pending.popleft()
                    message = self._prepare(key)
                    if message is None:
                        continue
                    if not self._send(message, producer):
                        self._pending.appendleft(key)
                        self._send_after = self._clock.now() + _retry_delta()
                        return
        except Exception as exc:  # no connection to the broker for the producer: not sent
            self._broker_refused(exc, "the batch")
            self._send_after = self._clock.now() + _retry_delta()
            return
        if self._broker_down:
            log.warning("The Celery broker takes attempts again")
            self._broker_down = False

    def _send_unstarted_again(self) -> None:
        """The broker restarted or the connection to it broke: it may have lost the messages
        of attempts not started yet (so may a worker that had fetched one): they are sent
        again, as pending ones are (still watched meanwhile)."""
        pending = set(self._pending)
        again = [
            w.key
            for w in self._watched.values()
            if not (w.started or w.in_database or w.key in pending)
        ]
        self._pending.extend(again)
        log.warning(
            "The Celery broker restarted or the connection to it broke: %d attempt(s) not "
            "started yet are sent again (a delivery whose try was claimed is refused)",
            len(again),
        )

    def _send(self, message: AttemptMessage, producer: Any) -> bool:
        key = message.key
        task_id = task_id_for(key, self._settings)
        queue = queue_for(message.ti.queue if message.ti is not None else "default", self._settings)
        limit = None
        if message.timeout_s is not None:
            allowance = self._settings.time_limit_allowance_s  # to import the DAG file
            limit = message.timeout_s + self._kill_grace_s + allowance
        try:
            self._app.send_task(
                RUN_ATTEMPT_TASK,
                args=[message.to_json()],
                task_id=task_id,
                queue=queue,
                time_limit=limit,
                retry=False,
                producer=producer,
                # What Celery shows of the arguments (logs, `inspect`): the attempt, not a
                # repr of the whole message computed for every send.
                argsrepr=f"[{key.dag_id}.{key.task_id} {key.run_id} try {key.try_number}]",
                kwargsrepr="{}",
            )
        except Exception as exc:  # kombu's errors vary by transport: all mean "not sent"
            self._broker_refused(exc, f"task {key.task_id} try {key.try_number}")
            return False
        if task_id not in self._watched:  # else sent again after a broker restart
            self._watch(task_id, _Watched(key, message.timeout_s, started=False))
        return True

    def _broker_refused(self, exc: BaseException, what: str) -> None:
        if not self._broker_down:
            log.warning(
                "The Celery broker did not take %s (%s: %s); it is sent again when the "
                "broker answers",
                what,
                type(exc).__name__,
                exc,
            )
        self._broker_down = True

    def _watch(self, task_id: str, watched: _Watched) -> None:
        self._watched[task_id] = watched
        self._order.append(task_id)

    def _revoke(self, task_ids: list[str], signal: str = "SIGTERM") -> None:
        if not task_ids:
            return
        try:
            self._app.control.revoke(task_ids, terminate=True, signal=signal)
        except Exception as exc:
            log.warning("Could not revoke %d Celery task(s): %s", len(task_ids), exc)

    # -- reading ---------------------------------------------------------------------------

    def _batch(self) -> list[str]:
        """Up to BATCH watched task ids, round robin, dropping those no longer watched."""
        ids: list[str] = []
        for _ in range(len(self._order)):
            if len(ids) >= BATCH:
                break
            task_id = self._order.popleft()
            watched = self._watched.get(task_id)
            if watched is None:
                continue
            self._order.append(task_id)
            if not watched.in_database:
                ids.append(task_id)
        return ids

    def _read_backend(self) -> None:
        ids = self._batch()
        if not ids:
            return
        try:
            reports = read_reports(self._app.backend, ids)
        except Exception as exc:
            if not self._backend_down:  # once per outage: poll reads every few milliseconds
                log.warning("Could not read the Celery result backend: %s", exc)
            self._backend_down = True
            return
        if self._backend_down:
            log.warning("The Celery result backend answers again")
            self._backend_down = False
        now = self._clock.now()
        for task_id, report in reports.items():
            watched = self._watched[task_id]
            # An ended task is reported started first (a child process that died before its
            # STARTED state was read has no pid to tell): the scheduler applies an outcome
            # only to a running instance.
            if not watched.started and (report.pid or report.outcome is not None):
                watched.started = True
                event = AttemptStarted(watched.key, report.hostname, report.pid, now)
                self._started_events.append(event)
            outcome = report.outcome
            if outcome is None:
                continue
            if outcome.rejected:
                watched.in_database = True  # the claimer reports it: read its row
                continue
            if watched.timeout_s is not None:
                outcome = _with_timeout(outcome, watched.timeout_s)
            del self._watched[task_id]
            self._finished.append((watched.key, outcome))

    def _check_rows(self) -> None:
        """Attempts whose row says they ended (recorded by a claimer elsewhere, or failed by
        the scheduler as lost): reported from the row, no longer watched."""
        ids = list(self._watched)
        if not ids:
            return
        start = self._row_cursor % len(ids)
        chosen = (ids[start:] + ids[:start])[:ROWS_PER_HEARTBEAT]
        self._row_cursor = start + len(chosen)
        for task_id in chosen:
            watched = self._watched[task_id]
            try:
                row = self._attempts.get_attempt(watched.key)
            except Exception as exc:
                reason = short_reason(exc)  # one line, not the statement and its parameters
                log.warning("Could not read the attempt of %s: %s", watched.key.task_id, reason)
                return
            if row is None or row.outcome is None:
                continue
            del self._watched[task_id]
            if not watched.started:  # the scheduler hears of the start before the end
                event = AttemptStarted(
                    watched.key, row.hostname or "", row.pid or 0, row.start_date
                )
                self._started_events.append(event)
            self._finished.append((watched.key, row.outcome))


def _read_results_by_polling(app: Any) -> None:
    """Celery's Redis result backend subscribes to every task it sends, for
    ``AsyncResult.get``; this executor reads results in batches instead (``MGET``), and the
    subscriptions, never read, would fill the scheduler's socket (and Redis's output buffer
    for it) on a long run. So sending subscribes to nothing."""
    from celery.backends.redis import RedisBackend

    backend = app.backend
    if isinstance(backend, RedisBackend):
        backend.on_task_call = lambda producer, task_id: None


def _retry_delta() -> timedelta:
    return timedelta(seconds=_RETRY_SEND_S)


def _with_timeout(outcome: AttemptOutcome, timeout_s: float) -> AttemptOutcome:
    """A hard time limit: say which (the backend's text does not know it)."""
    if outcome.error is None or not outcome.error.startswith(TIMED_OUT):
        return outcome
    error = outcome.error.replace("its time limit", f"{timeout_s:g} s", 1)
    return replace(outcome, error=error)
