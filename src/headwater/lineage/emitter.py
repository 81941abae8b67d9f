"""Sending events in the background: emitting never slows or fails a task.

:meth:`LineageEmitter.emit` only puts the event on a bounded queue (``QUEUE_SIZE``); one
daemon thread per process and transport sends them, each within the transport's timeout.
When the backend is down (refused, timed out, answering an error), the first failure is
logged once, as a warning, and the events of the next ``OUTAGE_PAUSE_S`` seconds are
dropped without trying; then the next event tries again. When an event goes through again,
one line says how many were dropped meanwhile. Events that find the queue full are dropped
and counted the same way. At process exit (``atexit``, and the exit of a ``multiprocessing``
worker) what is queued is sent for at most the transport's timeout, then dropped.

With ``batch_size`` above 1 the thread, woken by an event, waits up to ``batch_wait_s``
for others (less once ``batch_size`` wait), then hands the transport what is queued, up to
``batch_size`` events, in one call: the ``http`` transport's batch request (one POST, one
wake-up of the thread, for many events: what makes lineage cheap on short tasks,
``benchmarks/operations_overhead.py``). Events the backend refuses in a batch it otherwise
took are dropped and counted, the first refusal logged as a warning; a backend without a
batch endpoint gets that batch and every later event one by one (said once, at INFO).
Transports without batches get the events one by one.

:func:`emitter_for` gives the one emitter of this process for some settings (``None`` for
transport ``none``, or one that cannot be built: that error is logged once).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.lineage.http_transport import BatchEndpointMissing
from headwater.lineage.transports import build_transport

if TYPE_CHECKING:
    from headwater.lineage.transports import Transport
    from headwater.settings_operations import LineageSettings

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
"""Events waiting to be sent, at most, per process."""

OUTAGE_PAUSE_S = 10.0
"""After a failed send, events are dropped without trying for this long."""

_STOP = object()


class LineageEmitter:
    """A transport behind a bounded queue and a thread of its own."""

    def __init__(
        self,
        transport: Transport,
        *,
        target: str,
        timeout_s: float,
        queue_size: int = QUEUE_SIZE,
        outage_pause_s: float = OUTAGE_PAUSE_S,
        batch_size: int = 1,
        batch_wait_s: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.target = target
        self.timeout_s = timeout_s
        self.outage_pause_s = outage_pause_s
        self.batch_size = batch_size
        self.batch_wait_s = batch_wait_s
        self._monotonic = monotonic
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._batch_full = threading.Event()
        """Set when a batch is full (or at flush and close): the thread stops waiting."""
        self._flushes = 0
        """Callers of :meth:`flush` waiting now: batches go without waiting meanwhile."""
        self._lock = threading.Lock()
        self.sent = 0
        self.dropped = 0
        """Events dropped since this emitter started (queue full, backend down, exit)."""
        self.refused = 0
        """Of those, events a backend refused within a batch it otherwise took."""
        self._dropped_in_outage = 0
        self._outage = False
        self._retry_at = 0.0
        self._closed = False
        self._thread = threading.Thread(
            target=self._send_loop, name="headwater-lineage", daemon=True
        )
        self._thread.start()

    @property
    def in_outage(self) -> bool:
        return self._outage

    def emit(self, event: Any) -> None:
        """Queue ``event``; never blocks (a full queue drops it, counted)."""
        if self._closed:
            self._drop(1, "the emitter is closed")
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drop(1, f"{self._queue.maxsize} events wait already (the backend is slow)")
            return
        if self.batch_size > 1 and self._queue.qsize() >= self.batch_size - 1:
            self._batch_full.set()  # with the one the thread holds, a batch is full

    def flush(self, timeout_s: float) -> bool:
        """Send what is queued now; wait at most ``timeout_s`` for it; whether it went."""
        with self._lock:
            self._flushes += 1
        self._batch_full.set()
        try:
            deadline = time.monotonic() + timeout_s
            while self._queue.unfinished_tasks:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
            return True
        finally:
            with self._lock:
                self._flushes -= 1

    def close(self, timeout_s: float | None = None) -> None:
        """Send what is queued within ``timeout_s`` (default: the transport's timeout), drop
        the rest, stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        limit = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        try:
            self._queue.put(_STOP, timeout=limit)  # the thread ends after what is queued
        except queue.Full:
            pass  # the thread is stuck on a send: what is queued is dropped below
        self._batch_full.set()
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._thread.is_alive():
            left = self._queue.qsize()
            self._drop(left, f"not sent within {limit:g}s at exit")
        try:
            self.transport.close(limit)
        except Exception:  # the transport's own clean-up: nothing left to save
            log.debug("closing the OpenLineage transport failed", exc_info=True)
        with self._lock:
            if self.dropped:
                log.info(
                    "OpenLineage: %d events sent to %s, %d dropped (%d refused by it)",
                    self.sent,
                    self.target,
                    self.dropped,
                    self.refused,
                )

    # -- the thread ------------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            taken = self._next_batch()
            events = [event for event in taken if event is not _STOP]
            try:
                if events:
                    self._send(events)
            finally:
                for _ in taken:
                    self._queue.task_done()
            if len(events) < len(taken):
                return

    def _next_batch(self) -> list[Any]:
        """The next event, with those that come within ``batch_wait_s`` (batches only)."""
        taken = [self._queue.get()]
        if self.batch_size == 1 or taken[0] is _STOP:
            return taken
        others = self.batch_size - 1
        deadline = time.monotonic() + self.batch_wait_s
        while self._queue.qsize() < others and not self._hurried():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._batch_full.clear()
            if self._queue.qsize() >= others or self._hurried():
                break  # came between the check and the clear
            self._batch_full.wait(left)
        while len(taken) < self.batch_size and taken[-1] is not _STOP:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def _hurried(self) -> bool:
        return self._closed or self._flushes > 0

    def _send(self, events: list[Any]) -> None:
        if self._outage and self._monotonic() < self._retry_at:
            self._drop(len(events), "")
            return
        done = 0  # events the transport has taken care of (sent, or refused by the backend)
        refused: list[str] = []
        try:
            if len(events) > 1 and getattr(self.transport, "batches", False):
                try:
                    refused = self.transport.emit_batch(events)  # type: ignore[attr-defined]
                    done = len(events)
                except BatchEndpointMissing as exc:
                    log.info("OpenLineage: %s; sending events one by one", exc)
            for event in events[done:]:
                self.transport.emit(event)
                done += 1
        except Exception as exc:
            self._retry_at = self._monotonic() + self.outage_pause_s
            if done:
                self._count_sent(done)
            self._drop(len(events) - done, f"{type(exc).__name__}: {exc}")
            return
        self._count_sent(done - len(refused))
        self._refused(refused, len(events))

    def _refused(self, reasons: list[str], sent: int) -> None:
        if not reasons:
            return
        with self._lock:
            first = not self.refused
            self.refused += len(reasons)
            self.dropped += len(reasons)
        (log.warning if first else log.debug)(
            "OpenLineage: %s refused %d of %d events of a batch (%s); they are dropped",
            self.target,
            len(reasons),
            sent,
            reasons[0],
        )

    def _count_sent(self, sent: int) -> None:
        """The backend answered; ``sent`` events reached it."""
        with self._lock:
            self.sent += sent
            if self._outage:
                log.info(
                    "OpenLineage: %s answers again; %d events were dropped meanwhile",
                    self.target,
                    self._dropped_in_outage,
                )
                self._outage = False
                self._dropped_in_outage = 0

    def _drop(self, count: int, reason: str) -> None:
        if count <= 0:
            return
        with self._lock:
            self.dropped += count
            self._dropped_in_outage += count
            if self._outage:
                return
            self._outage = True
        log.warning(
            "OpenLineage: events to %s are dropped (%s); tasks go on, and the next event "
            "after %gs tries again",
            self.target,
            reason,
            self.outage_pause_s,
        )


def describe(settings: LineageSettings) -> str:
    """Where ``settings`` send events, for log lines."""
    if settings.transport == "http":
        return f"{settings.url.rstrip('/')}/{settings.endpoint.lstrip('/')}"
    if settings.transport == "file":
        return settings.file_path
    if settings.transport == "kafka":
        return f"kafka topic {settings.kafka_topic}"
    return settings.transport


# -- one emitter per process and settings -----------------------------------------------------

_emitters: dict[LineageSettings, LineageEmitter | None] = {}
_registry_lock = threading.Lock()
_exit_hooked_pid: int | None = None


def emitter_for(settings: LineageSettings) -> LineageEmitter | None:
    """This process's emitter for ``settings``; ``None`` when they send nothing (transport
    ``none``, or a transport that cannot be built: the error is logged once)."""
    if settings.transport == "none":
        return None
    found = _emitters.get(settings, False)
    if found is not False:
        return found  # type: ignore[return-value]
    with _registry_lock:
        if settings in _emitters:
            return _emitters[settings]
        emitter: LineageEmitter | None
        try:
            transport = build_transport(settings)
        except Exception as exc:
            log.error("OpenLineage is off in this process: %s", exc)
            emitter = None
        else:
            emitter = LineageEmitter(
                transport,
                target=describe(settings),
                timeout_s=settings.timeout_s,
                batch_size=settings.batch_size,
                batch_wait_s=settings.batch_wait_s,
            )
            _hook_exit()
        _emitters[settings] = emitter
        return emitter


def close_emitters(timeout_s: float | None = None) -> None:
    """Send what this process's emitters hold (each within its timeout, or ``timeout_s``),
    then stop them; the next :func:`emitter_for` starts afresh."""
    with _registry_lock:
        emitters = [e for e in _emitters.values() if e is not None]
        _emitters.clear()
    for emitter in emitters:
        emitter.close(timeout_s)


def _hook_exit() -> None:
    global _exit_hooked_pid
    if _exit_hooked_pid == os.getpid():
        return
    _exit_hooked_pid = os.getpid()
    atexit.register(close_emitters)
    # A multiprocessing worker ends with os._exit(), after its finalizers, not atexit's.
    from multiprocessing import util

    util.Finalize(None, close_emitters, exitpriority=100)


def _forget_in_child() -> None:
    """A forked child has none of its parent's threads: it builds its own emitters."""
    global _exit_hooked_pid, _registry_lock
    _emitters.clear()
    _registry_lock = threading.Lock()
    _exit_hooked_pid = None


os.register_at_fork(after_in_child=_forget_in_child)
