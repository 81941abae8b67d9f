"""What a scheduler that stopped or died left behind, and the heartbeats that tell it.

Starting, a scheduler refuses to run beside another live one, and puts back what the last
one left: a queued instance whose attempt a worker claimed is running; a running one whose
worker is still alive here is adopted; one whose attempt recorded an outcome is finished with
it (never run again); the others run again, not counted as a retry. Stopping, it records the
attempts it cut short the same way. Its heartbeat keeps the running attempts' rows alive and
fails those nobody has heard of for ``task_heartbeat_timeout_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskInstance
from headwater.exceptions import HeadwaterError
from headwater.executors.process_tree import process_exists
from headwater.log_format import fields_of
from headwater.runtime.logs import append_attempt_line, attempt_log_path
from headwater.scheduler.attempt_recovery import end_lost_attempt, settle_outcome
from headwater.scheduler.scheduler_state import (
    LOST_REASON,
    STOPPED_REASON,
    Handed,
    S,
    SchedulerState,
)

log = logging.getLogger("headwater.scheduler.scheduler")


class Recovery(SchedulerState):
    """Putting back what a stopped or killed scheduler left; heartbeats."""

    def _refuse_a_second_scheduler(self, now: datetime) -> None:
        """One scheduler per SQLite database (several share a PostgreSQL one, see
        :mod:`~headwater.scheduler.run_claims`): another one alive would take this one's
        running attempts for lost ones. A scheduler whose process is gone does not count."""
        since = now - timedelta(seconds=self.settings.scheduler.task_heartbeat_timeout_s)
        for job in self.store.list_jobs(kind="scheduler", alive_since=since):
            if job.hostname == self.hostname and not process_exists(job.pid):
                continue
            raise HeadwaterError(
                f"another scheduler is running on this database (pid {job.pid} on "
                f"{job.hostname}, last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S}); "
                "stop it first: headwater runs one scheduler per database"
            )

    def _after_lost_connection(self, wait_s: float, should_stop: Callable[[], bool]) -> None:
        """The database connection dropped during a pass: what the pass decided may or may
        not be committed, so the runs are loaded again from the database, as after a stale
        write (attempts that ended meanwhile are applied from their recorded outcomes), after
        ``wait_s`` (:class:`~headwater.db.reconnect.ReconnectBackoff`); the attempts handed
        to the executor are remembered (``_forget_runs``)."""
        self._forget_runs()
        deadline = time.monotonic() + wait_s
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0.0)))

    def _put_back_stopped(self, now: datetime) -> None:
        """Instances queued or running through this scheduler, which is stopping, go back
        to SCHEDULED (their attempt, if one started, ends FAILED: stopped)."""
        for key in list(self._active):
            del self._active[key]
            active = self._runs.get((key.dag_id, key.run_id))
            if active is None:
                continue
            ti = active.engine.get_ti(key.task_id, key.map_index)
            if ti.state not in (S.QUEUED, S.RUNNING):
                continue
            started = ti.state is S.RUNNING
            if end_lost_attempt(self.store, active.engine, ti, now, STOPPED_REASON):
                continue  # it had ended and recorded how: applied, not run again
            active.waiting[(ti.task_id, ti.map_index)] = ti.key
            if started:
                path = attempt_log_path(self.settings.logs_folder, key, ti.try_number)
                try:
                    append_attempt_line(
                        path, logging.ERROR, f"Attempt {ti.try_number}: {STOPPED_REASON}"
                    )
                except OSError as exc:
                    log.warning("Could not write to the log %s: %s", path, exc)
                log.warning(
                    "Task %s of run %s was stopped with the scheduler; it runs again when a "
                    "scheduler starts",
                    key.label,
                    key.run_id,
                    extra=fields_of(ti),
                )

    def _requeue_lost(self, now: datetime, runs: set[tuple[str, str]] | None = None) -> None:
        """Instances left QUEUED or RUNNING by a scheduler that stopped (in ``runs``, or in
        every run this one drives).

        A queued one whose attempt a worker claimed is running. A running one whose worker
        is still alive on this machine is adopted by the executor
        (it goes on; its outcome is applied when it ends), so it never runs twice at once.
        One whose attempt recorded an outcome is finished with it, never run again. Where
        several schedulers share the database, a running one whose worker is on another
        machine stays running until its heartbeat stops for ``task_heartbeat_timeout_s``
        (then it fails as lost, retried by its ``retries``). The others run again, without
        counting a retry.
        """
        running = self.executor.running()
        running_here = {key.ti_key for key in running}
        kept = self._handed_before_drop  # forgotten once all was looked at (the end)
        for key, active in self._runs.items():
            if runs is not None and key not in runs:
                continue
            engine = active.engine
            for ti in engine.instances_in(S.QUEUED, S.RUNNING):
                if ti.key in self._active:
                    continue
                handed = kept.get(ti.key)
                if ti.key in running_here:
                    if handed is not None and handed.attempt in running:
                        self._active[ti.key] = handed  # it holds its pool slots again
                    continue
                if ti.state is S.QUEUED:
                    self._start_if_claimed(engine, ti)
                if handed is not None and handed.attempt == _current_attempt(engine, ti):
                    # Handed to the executor before the connection dropped, and still held
                    # by it (Celery: maybe still in the broker): nothing was lost. A start
                    # reported meanwhile came from the claim just now; the outcome comes as
                    # any other's.
                    self._active[ti.key] = handed
                    continue
                if ti.state is S.RUNNING and self._adopt(ti):
                    continue
                if ti.state is S.RUNNING and self.several_schedulers and self._elsewhere(ti):
                    continue  # _fail_silent_attempts settles it if its heartbeat stops
                if end_lost_attempt(self.store, engine, ti, now, LOST_REASON) is not None:
                    self._dirty.add(key)
                    continue
                active.waiting[(ti.task_id, ti.map_index)] = ti.key
                log.warning(
                    "Task %s of run %s was lost; it runs again",
                    ti.key.label,
                    ti.run_id,
                    extra=fields_of(ti),
                )
        # Only now: if the connection dropped again on the way, the next pass looks at what
        # was handed again (what this one put back is no longer queued or running by then).
        self._handed_before_drop = {}

    def _start_if_claimed(self, engine: DagRunEngine, ti: TaskInstance) -> None:
        """A queued instance whose next attempt a worker claimed (its scheduler died before
        it heard) is running: it goes on as any running one (adopted, applied or lost)."""
        self._started_from_claim(engine, ti, ti.key.attempt(ti.try_number + 1))

    def _adopt(self, ti: TaskInstance) -> bool:
        """Hand ``ti``'s running attempt to the executor if its worker is still alive."""
        attempt = self.store.get_attempt(ti.key.attempt(ti.try_number))
        if attempt is None or attempt.end_date is not None or not attempt.pid:
            return False
        timeout_s = self.execution_timeout_s(ti.key)
        host = attempt.hostname or ""
        if not self.executor.adopt(attempt.key, attempt.pid, host, attempt.start_date, timeout_s):
            return False
        self._active[ti.key] = Handed(attempt.key, ti.pool, ti.pool_slots)
        return True

    def _elsewhere(self, ti: TaskInstance) -> bool:
        """Whether ``ti``'s running attempt was started by a worker on another machine."""
        attempt = self.store.get_attempt(ti.key.attempt(ti.try_number))
        if attempt is None or attempt.end_date is not None:
            return False
        return bool(attempt.hostname) and attempt.hostname != self.hostname

    def _heartbeat(self, now: datetime) -> None:
        every = timedelta(seconds=self.settings.scheduler.heartbeat_interval_s)
        if self._last_heartbeat is not None and now - self._last_heartbeat < every:
            return
        self._last_heartbeat = now
        self.executor.heartbeat()
        self._callbacks.reap()
        if self.job_id is not None:
            self.store.heartbeat_job(self.job_id, now)
        self._renew_claims(now)
        running = self.executor.running()
        if running:
            self.store.heartbeat_attempts(list(running), now)
        self._fail_silent_attempts(now, running)

    def _fail_silent_attempts(self, now: datetime, running: Mapping[AttemptKey, object]) -> None:
        """A running attempt that no executor of this scheduler runs and whose last sign of
        life (its heartbeat; its start if its worker never claimed it) is older than
        ``task_heartbeat_timeout_s`` is lost: it fails (and retries by its ``retries``). The
        safety net behind the executor's own detection of dead workers."""
        timeout = timedelta(seconds=self.settings.scheduler.task_heartbeat_timeout_s)
        beats = self.store.attempt_heartbeats()
        for active in list(self._runs.values()):
            for ti in active.engine.instances_in(S.RUNNING):
                attempt = ti.key.attempt(ti.try_number)
                if attempt in running:
                    continue
                beat = beats.get(attempt)
                last = beat.heartbeat_at if beat is not None else ti.start_date
                if last is not None and now - last <= timeout:
                    continue
                error = (
                    f"no heartbeat for over {timeout.total_seconds():g} s "
                    "(scheduler.task_heartbeat_timeout_s): the process running it is gone"
                )
                log.warning(
                    "Task %s of run %s: %s", ti.key.label, ti.run_id, error, extra=fields_of(ti)
                )
                outcome = settle_outcome(self.store, ti, AttemptOutcome(S.FAILED, error=error), now)
                active.engine.finish_attempt(ti.task_id, ti.map_index, outcome, now)
                self._active.pop(ti.key, None)
                self._dirty.add((ti.dag_id, ti.run_id))


def _current_attempt(engine: DagRunEngine, ti: TaskInstance) -> AttemptKey:
    """The attempt ``ti`` is at now: its next try while queued, its current one running."""
    now = engine.get_ti(ti.task_id, ti.map_index)
    return now.key.attempt(now.try_number + 1 if now.state is S.QUEUED else now.try_number)
