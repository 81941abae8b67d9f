"""Shipping the logs of running attempts to ``[logging] remote_log_folder``, so that readers
on other machines (``tasks logs --follow``, the API, the UI) follow them while they run.

One background thread per process that runs attempts (started with its first attempt)
wakes every ``[logging] remote_log_flush_interval_s`` seconds and ships what each running
attempt's log file gained since the last time, up to its last complete line, as one new
*part* of the log's live copy: ``<remote>/<relative>.live/part-<start>-<end>.log``, named by
its byte range (:meth:`~headwater.runtime.remote_logs.RemoteLogFolder.write_part`). Parts
are new objects, never appended to: a folder, ``file://``, ``memory://`` and object stores
(S3, GCS, Azure) all write them the same way, and a reader never sees one half-written.
When the attempt ends, the complete log is copied as before and the parts are removed.

Bounded: the thread reads at most :data:`MAX_PART` bytes per part and
:data:`MAX_PARTS_PER_FLUSH` parts per log and wake-up from the local file (nothing is
buffered in memory between wake-ups: the file is the buffer). A failed part is shipped again
at the next wake-up (nothing is lost, nothing shipped twice); the first failure of a log is
a warning in the process's log, later ones are not repeated, and none ever fails the task.
What is shipped is what the file holds: already masked when written (:mod:`.logs`).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.runtime.remote_logs import RemoteLogFolder

log = logging.getLogger(__name__)

MAX_PART = 1 << 20
"""The most bytes one part holds (a longer line is cut there)."""
MAX_PARTS_PER_FLUSH = 16
"""The most parts one wake-up ships per log: a log that grows faster catches up later."""
FINISH_WAIT_S = 30.0
"""The longest an ending attempt waits for a shipment of its log still under way."""


@dataclass
class _RunningLog:
    path: str
    relative: str
    shipped: int = 0
    """Bytes of the file already in the remote parts."""
    parts: int = 0
    failed: bool = False
    """A shipment failed (said once)."""
    ended: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class LogShipper:
    """Ships the running logs :meth:`follow` was told about to ``sink``; with
    ``background``, a daemon thread calls :meth:`flush` every ``interval_s`` seconds (tests
    call it themselves)."""

    def __init__(self, sink: RemoteLogFolder, interval_s: float, *, background: bool = True):
        self.sink = sink
        self.interval_s = interval_s
        self._background = background
        self._logs: dict[str, _RunningLog] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, path: str) -> None:
        """Ship the log at ``path`` (being written) until :meth:`finish`."""
        running = _RunningLog(path, self.sink.relative(path))
        with self._lock:
            self._logs[path] = running
            if self._background and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="headwater-log-shipper", daemon=True
                )
                self._thread.start()

    def finish(self, path: str) -> bool:
        """Stop shipping the log at ``path`` (its writer has finished): after this, no part
        of it is written. True when parts were (the complete copy replaces them)."""
        with self._lock:
            running = self._logs.pop(path, None)
        if running is None:
            return False
        acquired = running.lock.acquire(timeout=FINISH_WAIT_S)  # a shipment under way ends
        running.ended = True
        if acquired:
            running.lock.release()
        return running.parts > 0 or not acquired

    def flush(self) -> None:
        """Ship what each running log gained since the last time."""
        with self._lock:
            running = list(self._logs.values())
        for each in running:
            with each.lock:
                if not each.ended:
                    self._ship(each)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
            except Exception:  # never let the thread die: the next wake-up tries again
                log.exception("Shipping running task logs to %s failed", self.sink.url)

    def _ship(self, running: _RunningLog) -> None:
        try:
            with open(running.path, "rb") as file:
                for _ in range(MAX_PARTS_PER_FLUSH):
                    file.seek(running.shipped)
                    data = file.read(MAX_PART)
                    if len(data) < MAX_PART:  # a line still being written waits for its end
                        data = data[: data.rfind(b"\n") + 1]
                    if not data:
                        return
                    self.sink.write_part(running.relative, running.shipped, data)
                    running.shipped += len(data)
                    running.parts += 1
        except Exception as exc:
            if not running.failed:
                running.failed = True
                log.warning(
                    "Could not ship the running log %s to %s: %s (tried again every %g s; "
                    "later failures of this log are not logged)",
                    running.path,
                    self.sink.url,
                    exc,
                    self.interval_s,
                )


_shipper: LogShipper | None = None


def ship_running_logs(sink: RemoteLogFolder | None, interval_s: float) -> None:
    """Ship the logs of the attempts this process runs to ``sink`` while they run, every
    ``interval_s`` seconds (None: stop). Called by :func:`.remote_logs.use_remote_log_folder`."""
    global _shipper
    if _shipper is not None:
        _shipper.stop()
    _shipper = None if sink is None else LogShipper(sink, interval_s)


def start_shipping(path: str) -> None:
    """Ship the log at ``path``, just opened for an attempt, while it runs (when this
    process has a remote folder). Never raises: shipping must not fail the attempt."""
    shipper = _shipper
    if shipper is None:
        return
    try:
        shipper.follow(path)
    except Exception as exc:
        log.warning("Could not ship the running log %s to %s: %s", path, shipper.sink.url, exc)


def stop_shipping(path: str) -> bool:
    """Stop shipping the log at ``path``; True when it has live parts to remove once the
    complete copy is written."""
    shipper = _shipper
    return shipper.finish(path) if shipper is not None else False


def _after_fork_in_child() -> None:
    """A forked worker starts with no shipping thread and no log of its parent's."""
    global _shipper
    if _shipper is not None:
        _shipper = LogShipper(_shipper.sink, _shipper.interval_s)


os.register_at_fork(after_in_child=_after_fork_in_child)
