"""Running one attempt and recording its outcome before anyone is told: exactly-once completion.

Whoever runs an attempt (a worker process of the local executor, the in-process executor of
``dags test``) calls :func:`run_and_record`. It first **claims** the attempt: it stores the
attempt's row (``running``, with its host and pid) unless the row exists, so one try of an
instance runs in one process only, however often it is sent. The attempt's own XCom pushes
are held back
(:class:`PendingXComs`, readable by the attempt itself) and stored **with** its outcome in one
compare-and-set on the running attempt row (``MetadataStore.record_attempt_outcome``). Only
then is the outcome returned, to be reported to the scheduler. So:

* a scheduler that dies after the attempt's code finished finds the outcome in the database
  when it starts again, and applies it instead of running the attempt a second time;
* a result that comes too late (the scheduler already ended the attempt as lost, timed out
  or removed) is refused by the compare-and-set, with its XComs, and said in the attempt's
  log: it never overwrites what the scheduler decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.db.reconnect import retry_when_connection_lost
from headwater.engine.records import AttemptOutcome, TaskAttempt
from headwater.engine.states import TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.runtime.logs import append_attempt_line
from headwater.runtime.task_runner import AttemptRequest, run_attempt

if TYPE_CHECKING:
    from headwater.engine.records import AttemptKey, TaskInstanceKey
    from headwater.store.base import MetadataStore

log = logging.getLogger(__name__)


class PendingXComs(XComs):
    """The XComs seen by one attempt: what it pushes itself is kept here (and read back from
    here) until its outcome is recorded with it; every other value comes from the store."""

    def __init__(self, xcoms: XComs, key: TaskInstanceKey) -> None:
        super().__init__(xcoms.store, xcoms.serializer, xcoms.max_bytes, xcoms.objects)
        self.key = key
        self.pending: dict[str, str] = {}

    def _write(self, key: TaskInstanceKey, name: str, text: str) -> None:
        if key == self.key:
            self.pending[name] = text
        else:
            super()._write(key, name, text)

    def _read(self, key: TaskInstanceKey, name: str) -> str | None:
        if key == self.key and name in self.pending:
            return self.pending[name]
        return super()._read(key, name)


def run_and_record(
    request: AttemptRequest,
    key: AttemptKey,
    now: Callable[[], datetime],
    *,
    hostname: str,
    pid: int,
) -> AttemptOutcome:
    """Claim attempt ``key`` (store its row, ``running``, unless it exists), run it, and
    record how it ended with the XComs it pushed, atomically; return the outcome.

    ``rejected``: the row existed, so this process did not run the attempt (it started
    elsewhere). ``recorded``: whether the final compare-and-set won (False: the attempt had
    been ended by someone else meanwhile; its result is stale and must not be applied).
    """
    started = TaskAttempt(
        dag_id=key.dag_id,
        run_id=key.run_id,
        task_id=key.task_id,
        map_index=key.map_index,
        try_number=key.try_number,
        state=TaskInstanceState.RUNNING,
        start_date=now(),
        hostname=hostname,
        pid=pid,
        log_path=request.log_path,
    )
    if not claim_retried(request.store, started):
        log.warning(
            "Task %s of run %s: attempt %d was started elsewhere already; not run again here",
            key.ti_key.label,
            key.run_id,
            key.try_number,
        )
        error = f"attempt {key.try_number} was started elsewhere already"
        return AttemptOutcome(TaskInstanceState.FAILED, error=error, rejected=True)
    xcoms = PendingXComs(request.xcoms, key.ti_key)
    outcome = run_attempt(replace(request, xcoms=xcoms, now=now))
    recorded = record_retried(request.store, started, outcome, now(), xcoms.pending)
    if not recorded:
        message = (
            f"Attempt {key.try_number} ended {outcome.state.value}, but it had already been "
            "ended elsewhere (taken for lost, timed out or removed): this result is not kept"
        )
        log.warning("Task %s of run %s: %s", key.ti_key.label, key.run_id, message)
        try:
            append_attempt_line(request.log_path, logging.WARNING, message)
        except OSError:
            pass  # the log line is a courtesy; the refusal itself is what matters
    return replace(outcome, recorded=recorded)


# A worker's claim and outcome are each one transaction (on PostgreSQL, usually one
# statement on a kept connection). When the connection drops under one, it is tried again on
# a fresh connection (headwater.db.reconnect): the failed try either rolled back, and the
# next try is the first that counts, or it committed and only its answer was lost. The
# compare-and-set makes that second case safe and recognisable: the claim inserts only a
# missing row, so a retry finds the row and sees it holds this process's host, pid and start
# date; the outcome updates only a running row, so a retry finds it ended, with this
# outcome's state and end date. Anything else is another process's doing, refused as before.


def claim_retried(store: MetadataStore, started: TaskAttempt) -> bool:
    """``store.claim_attempt(started)``, tried again after a lost connection (above)."""
    tries = 0

    def claim() -> bool:
        nonlocal tries
        tries += 1
        if store.claim_attempt(started):
            return True
        if tries == 1:
            return False  # the row was there before this process tried: started elsewhere
        row = store.get_attempt(started.key)
        mine = (started.hostname, started.pid, started.start_date)
        return row is not None and (row.hostname, row.pid, row.start_date) == mine

    what = f"the claim of attempt {started.try_number} of task {started.task_id}"
    return retry_when_connection_lost(claim, what, log)


def record_retried(
    store: MetadataStore,
    started: TaskAttempt,
    outcome: AttemptOutcome,
    end_date: datetime,
    xcoms: dict[str, str],
) -> bool:
    """``store.record_attempt_outcome`` of the attempt ``started``, tried again after a lost
    connection (above); False when the attempt had been ended by someone else."""
    tries = 0

    def record() -> bool:
        nonlocal tries
        tries += 1
        key = started.key
        if store.record_attempt_outcome(
            key, outcome, end_date, xcoms, start_date=started.start_date
        ):
            return True
        if tries == 1:
            return False  # the attempt was ended elsewhere before: this result is stale
        row = store.get_attempt(key)
        return row is not None and (row.state, row.end_date) == (outcome.state, end_date)

    what = f"the outcome of attempt {started.try_number} of task {started.task_id}"
    return retry_when_connection_lost(record, what, log)
