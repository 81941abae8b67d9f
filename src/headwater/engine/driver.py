"""Driving one run with an executor and a clock until it ends (``dags test``, ``tasks test``'s
run, ``dag.test()``, ``headwater.testing.run_dag``: all through ``headwater.dag_test``).

The engine names only the little it needs of an executor (:class:`AttemptExecutor`), so it
does not depend on ``headwater.executors``, whose executors all have these calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from headwater.engine.states import DagRunState

if TYPE_CHECKING:
    from datetime import datetime

    from headwater.clock import Clock
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import (
        AttemptKey,
        AttemptOutcome,
        TaskInstance,
        TaskInstanceKey,
    )


class AttemptExecutor(Protocol):
    """What the driver asks of an executor (``headwater.executors.base.Executor`` has it)."""

    def queue(self, key: AttemptKey) -> None:
        """Run attempt ``key`` (an instance's try) when there is room."""

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        """Attempts that ended since the last poll, waiting up to ``timeout`` s for one."""
        ...

    def kill(self, key: AttemptKey) -> None:
        """Stop attempt ``key`` if it is queued or running."""

    def heartbeat(self) -> None:
        """Check on workers."""

    @property
    def has_work(self) -> bool:
        """Whether attempts are queued or running."""
        ...


class TriggerWaiter(Protocol):
    """Runs the triggers of deferred instances when no triggerer does (in-process runs:
    ``headwater.runtime.inline_triggers.InlineTriggers``)."""

    def wait(self, engine: DagRunEngine, until: datetime | None) -> bool:
        """Wait on the run's deferred instances' triggers until one ends or ``until``;
        resume those that ended; whether any resumed."""
        ...


class RunObserver(Protocol):
    """Told about a run as it moves (terminal progress, tests)."""

    def task_finished(self, ti: TaskInstance) -> None: ...


def drive_run(
    engine: DagRunEngine,
    executor: AttemptExecutor,
    clock: Clock,
    observer: RunObserver | None = None,
    triggers: TriggerWaiter | None = None,
) -> DagRunState:
    """Run ``engine``'s run to its final state and return it.

    Each turn: end the run if it timed out, schedule what is ready, hand it to the executor,
    apply finished attempts. With nothing running and only retries waiting, sleep on the
    clock until the next one is due (a fake clock makes that instant), or until the run's
    ``dagrun_timeout`` deadline if that comes first, and then end the run as timed out.
    Deferred instances wait on ``triggers`` meanwhile (until that time); reschedule-mode
    sensors wait for their next poke as retries do.
    """
    engine.start(clock.now())
    handed: dict[TaskInstanceKey, AttemptKey] = {}
    """The attempt handed to the executor for each queued or running instance."""
    while True:
        now = clock.now()
        if engine.timed_out(now):
            return _time_out(engine, executor, now, handed)
        ready = engine.schedule(now)
        if ready:
            engine.mark_queued(ready)
            for ti in ready:
                handed[ti.key] = ti.key.attempt(ti.try_number + 1)
                executor.queue(handed[ti.key])
        if engine.is_finished:
            return engine.finalize(clock.now())
        executor.heartbeat()
        finished = executor.poll(timeout=1.0 if executor.has_work else 0.0)
        for key, outcome in finished:
            if handed.get(key.ti_key) != key:
                continue  # not the attempt handed out for it (a stale report)
            del handed[key.ti_key]
            engine.finish_attempt(key.task_id, key.map_index, outcome, clock.now())
            if observer is not None:
                observer.task_finished(engine.get_ti(key.task_id, key.map_index))
        if not finished and not executor.has_work:
            due = engine.next_retry_at()
            if triggers is not None and engine.deferred_instances():
                until = min((d for d in (due, engine.deadline()) if d is not None), default=None)
                if triggers.wait(engine, until):
                    continue  # resumed: schedule it
                due = engine.next_retry_at()
            if due is None:
                # Nothing queued, nothing running, no retry pending: whatever is left waits on
                # something that cannot happen here (a previous run that stays unfinished or
                # failed, for depends_on_past: said in the run's note; guard against a busy
                # loop).
                waits = engine.waiting_on_past()
                if waits:
                    engine.run.note = "; ".join(f"{t}: {why}" for t, why in waits.items())
                return engine.finalize(clock.now(), force_state=DagRunState.FAILED)
            deadline = engine.deadline()
            if deadline is not None and deadline < due:
                # Nothing can happen before the deadline: wake at it and end the run there,
                # as between attempts, instead of sleeping through it until the retry.
                clock.sleep(max((deadline - clock.now()).total_seconds(), 0.0))
                return _time_out(engine, executor, clock.now(), handed)
            clock.sleep(max((due - clock.now()).total_seconds(), 0.0))


def _time_out(
    engine: DagRunEngine,
    executor: AttemptExecutor,
    now: datetime,
    handed: dict[TaskInstanceKey, AttemptKey],
) -> DagRunState:
    """End the run past its ``dagrun_timeout`` (:meth:`DagRunEngine.time_out`, as the
    scheduler does) and kill the attempts still queued or running."""
    for ti in engine.time_out(now):
        attempt = handed.pop(ti.key, None)
        if attempt is not None:
            executor.kill(attempt)
    return engine.run.state
