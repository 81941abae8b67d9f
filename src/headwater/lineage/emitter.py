"""Sending events in the background: emitting never slows or fails a task.

:meth:`LineageEmitter.emit` only puts the event on a bounded queue (``QUEUE_SIZE``); one
daemon thread per process and transport sends them, each within the transport's timeout.
When the backend is down (refused, timed out, answering an error), the first failure is
logged once, as a warning, and the events of the next ``OUTAGE_PAUSE_S`` seconds are
dropped without trying; then the next event tries again. When an event goes through again,
one line says how many were dropped meanwhile. Events that find the queue full are dropped
and counted the same way. At process exit (``atexit``, and the exit of a ``multiprocessing``
worker) what is queued is sent for at most the transport's timeout, then dropped.

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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.target = target
        self.timeout_s = timeout_s
        self.outage_pause_s = outage_pause_s
        self._monotonic = monotonic
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self.sent = 0
        self.dropped = 0
        """Events dropped since this emitter started (queue full, backend down, exit)."""
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

    def flush(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` for the queue to empty; whether it did."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

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
                    "OpenLineage: %d events sent to %s, %d dropped",
                    self.sent,
                    self.target,
                    self.dropped,
                )

    # -- the thread ------------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is _STOP:
                    return
                self._send(event)
            finally:
                self._queue.task_done()

    def _send(self, event: Any) -> None:
        if self._outage and self._monotonic() < self._retry_at:
            self._drop(1, "")
            return
        try:
            self.transport.emit(event)
        except Exception as exc:
            self._retry_at = self._monotonic() + self.outage_pause_s
            self._drop(1, f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            self.sent += 1
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
                transport, target=describe(settings), timeout_s=settings.timeout_s
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
