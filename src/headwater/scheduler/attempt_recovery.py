"""Settling how an attempt ended when more than one party may say so: exactly-once completion.

The process that runs an attempt records its outcome with the attempt's row, by
compare-and-set on the row being ``running`` (:mod:`headwater.runtime.recorded_attempt`).
Whenever the scheduler would end an attempt on its own account (its worker died or was
killed, its heartbeat stopped, its scheduler stopped or died before it ended), it uses the
same compare-and-set. Exactly one of them wins; if the worker won, its recorded outcome is
the one applied, and the attempt is not run again. So an attempt whose code finished is
never run a second time because a scheduler died, stopped, or lost sight of its worker.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.records import AttemptOutcome, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.log_format import fields_of

if TYPE_CHECKING:
    from headwater.engine.dagrun import DagRunEngine
    from headwater.store.base import MetadataStore

log = logging.getLogger("headwater.scheduler.scheduler")

S = TaskInstanceState


def settle_outcome(
    store: MetadataStore, ti: TaskInstance, outcome: AttemptOutcome, now: datetime
) -> AttemptOutcome:
    """The outcome to apply to ``ti``'s running attempt: ``outcome`` if it is recorded (by its
    worker) or this records it, else the outcome recorded before it (its worker finished, then
    died or was killed before it could say so)."""
    if outcome.recorded:
        return outcome
    key = ti.key.attempt(ti.try_number)
    if store.record_attempt_outcome(key, outcome, now):
        return replace(outcome, recorded=True)
    stored = store.get_attempt(key)
    if stored is not None and stored.outcome is not None:
        log.info(
            "Task %s of run %s: its worker recorded how attempt %d ended (%s) before %s",
            ti.key.label,
            ti.run_id,
            ti.try_number,
            stored.outcome.state.value,
            outcome.error or "it was reported otherwise",
            extra=fields_of(ti),
        )
        return stored.outcome
    return outcome


def end_lost_attempt(
    store: MetadataStore, engine: DagRunEngine, ti: TaskInstance, now: datetime, reason: str
) -> AttemptOutcome | None:
    """Put back ``ti``, queued or running in a process that is gone, to run again without
    counting a retry (``engine.requeue_lost``) -- unless its attempt recorded an outcome
    first: then that outcome is applied and returned, and nothing runs again."""
    if ti.state is S.RUNNING:
        key = ti.key.attempt(ti.try_number)
        if not store.record_attempt_outcome(key, AttemptOutcome(S.FAILED, error=reason), now):
            stored = store.get_attempt(key)
            if stored is not None and stored.outcome is not None:
                engine.finish_attempt(ti.task_id, ti.map_index, stored.outcome, now)
                log.info(
                    "Task %s of run %s ended %s while its scheduler was away; applied, "
                    "not run again",
                    ti.key.label,
                    ti.run_id,
                    stored.outcome.state.value,
                    extra=fields_of(ti),
                )
                return stored.outcome
    engine.requeue_lost(ti.task_id, ti.map_index, now, reason)
    return None
