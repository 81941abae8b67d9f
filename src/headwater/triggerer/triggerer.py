"""The triggerer daemon: claims the triggers of deferred tasks, runs them, fires each once.

:class:`Triggerer` is a ``tick(now)`` loop like the scheduler's. Its thread owns the store
(every call is blocking SQL, kept off the event loop); the triggers run on the asyncio loop
of a :class:`~headwater.triggerer.runner.TriggerRunner`. Each tick:

1. writes what the triggers came to, all in one transaction (``fire_triggers``: a first
   event fires its trigger, by compare-and-set, so that a trigger fires once whatever
   another triggerer does), and fails those that raised (``fail_trigger``, the traceback's
   last line as the error);
2. renews its leases every ``min(heartbeat_interval_s, lease_s / 3)`` and beats its job row
   (kind ``triggerer``);
3. when the waiting triggers are not just those it runs, claims waiting triggers while it
   has room (``capacity``), builds each new one from its
   classpath and kwargs (one that cannot be built fails, the error naming the classpath)
   and starts it, and cancels the ones it holds no longer (fired, failed, deleted because
   their task moved on, or taken over by another triggerer after its lease ran out);
4. claims, starts and stops the asset watchers (:mod:`~headwater.triggerer.asset_watchers`)
   that active, unpaused DAGs want; each event of theirs is recorded as an asset event.

:meth:`Triggerer.run` ticks every ``poll_interval_s``; in between, it writes events as
soon as they come (the runner wakes it), then calls ``on_fired`` so that a scheduler in the
same process resumes the tasks at once, and keeps its heartbeat and leases on time.
:meth:`Triggerer.stop` stops every trigger, writes the events that came meanwhile and
releases its claims, so that another triggerer takes them over at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.clock import Clock, SystemClock
from headwater.db.errors import DamagedDatabaseError
from headwater.db.reconnect import is_connection_lost, short_reason
from headwater.exceptions import HeadwaterError
from headwater.scheduler.job_heartbeat import JobHeartbeat
from headwater.strict_json import dumps
from headwater.triggerer.asset_watchers import AssetWatchers
from headwater.triggerer.runner import TriggerResult, TriggerRunner
from headwater.triggers.base import build_trigger

if TYPE_CHECKING:
    from headwater.settings_daemons import TriggererSettings
    from headwater.store.ports import Store
    from headwater.store.triggers import TriggerRow

log = logging.getLogger(__name__)

MAX_WAIT_S = 0.5
"""The longest :meth:`Triggerer.run` waits without looking at its stop flag, its heartbeat
and its leases (which may be due before its next look for triggers)."""


def triggerer_id() -> str:
    """``host:pid:random``: unique to this triggerer, also after a restart with the same pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def trigger_name(row: TriggerRow) -> str:
    """How logs name a trigger: ``12 (pkg.FileTrigger) of etl/wait in manual__2024-01-01``."""
    key = row.key
    task = key.task_id if key.map_index < 0 else f"{key.task_id}[{key.map_index}]"
    return f"{row.id} ({row.classpath}) of {key.dag_id}/{task} in {key.run_id}"


class Triggerer:
    """One triggerer over one store. Tests call :meth:`start`, :meth:`tick` (with a fake
    clock), :meth:`wait_for_results` and :meth:`stop`; :meth:`run` is the daemon's loop."""

    def __init__(
        self,
        store: Store,
        settings: TriggererSettings,
        *,
        clock: Clock | None = None,
        on_fired: Callable[[], None] | None = None,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.on_fired = on_fired
        self.id = name or triggerer_id()
        self.lease = timedelta(seconds=settings.lease_s)
        self.renew_every = timedelta(
            seconds=min(settings.heartbeat_interval_s, settings.lease_s / 3)
        )
        self._results_ready = threading.Event()
        self.runner = TriggerRunner(on_result=self._results_ready.set)
        self.watchers = AssetWatchers(
            store, self.runner, owner=self.id, lease=self.lease, claim_every=self.renew_every
        )
        """The asset watchers it runs, on the same runner (negative trigger ids)."""
        self.running: dict[int, TriggerRow] = {}
        """The triggers handed to the runner that have not ended (nor been cancelled)."""
        self._unwritten: list[TriggerResult] = []
        self._next_renewal: datetime | None = None
        self._job: JobHeartbeat | None = None

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Register the job row (kind ``triggerer``) and start the event loop."""
        self._job = JobHeartbeat(
            self.store, "triggerer", interval_s=self.settings.heartbeat_interval_s, clock=self.clock
        )
        self.runner.start()
        log.info("Triggerer %s started (capacity %d)", self.id, self.settings.capacity)

    def stop(self) -> None:
        """Stop every trigger, write the events that came meanwhile, release the claims (so
        another triggerer takes them over at once) and end the job row."""
        self.runner.stop()
        self.running.clear()
        self.watchers.forget()
        try:
            self.write_results()
            released = self.store.release_trigger_claims(self.id)
            released += self.watchers.release()
        except DamagedDatabaseError:
            raise
        except Exception as exc:  # they are taken over when their leases run out
            log.warning("Could not release the triggers of triggerer %s: %s", self.id, exc)
        else:
            log.info(
                "Triggerer %s stopped; released %d trigger(s) and watcher(s)", self.id, released
            )
        if self._job is not None:
            self._job.end()
            self._job = None

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Tick every ``poll_interval_s`` until ``should_stop()``, and write events as they
        come in between. A failed tick (the database away) is logged and tried again."""
        poll = timedelta(seconds=self.settings.poll_interval_s)
        self.start()
        try:
            next_tick = self.clock.now()
            while not should_stop():
                now = self.clock.now()
                try:
                    if now >= next_tick:
                        next_tick = now + poll
                        self.tick(now)
                    else:  # between looks for new triggers: events, heartbeats, leases
                        self.write_results(now)
                        self.keep_alive(now)
                except DamagedDatabaseError:
                    raise  # no later tick can succeed: end with the error, which says what to do
                except Exception as exc:
                    if not is_connection_lost(exc):
                        log.exception("Triggerer %s: a pass failed; trying again", self.id)
                    else:  # one line: the pass is tried again (unbounded: it is a service)
                        log.warning(
                            "Triggerer %s: lost the database connection (%s); trying again",
                            self.id,
                            short_reason(exc),
                        )
                wait = (next_tick - self.clock.now()).total_seconds()
                self.wait_for_results(min(max(wait, 0.0), MAX_WAIT_S))
        finally:
            self.stop()

    def wait_for_results(self, timeout_s: float) -> bool:
        """Wait until a trigger came to a result (or ``timeout_s``); whether one did."""
        ready = self._results_ready.wait(timeout_s)
        self._results_ready.clear()
        return ready or bool(self.runner.has_results())

    # -- one pass ----------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Write results, renew leases and beat when due, claim, start and cancel."""
        now = now or self.clock.now()
        self.write_results(now)
        self.keep_alive(now)
        self.watchers.refresh(now)
        if self.store.count_waiting_triggers() == len(self.running):
            # Idle, or running every waiting trigger: nothing new to claim, none gone (a
            # claim reads every held trigger under SQLite's write lock: 30 ms for 1,000).
            # Leases taken over are found by the renewals.
            return
        room = max(self.settings.capacity - len(self.running), 0)
        held = self.store.claim_triggers(self.id, now, self.lease, limit=room)
        self._cancel(set(self.running) - {row.id for row in held})
        for row in held:
            if row.id not in self.running and len(self.running) < self.settings.capacity:
                self._start(row, now)
        if self._next_renewal is None:  # the leases claimed now run from now
            self._next_renewal = now + self.renew_every

    def keep_alive(self, now: datetime) -> None:
        """Beat the job row, and renew the leases when due (every ``min(heartbeat_interval_s,
        lease_s / 3)``); stop the triggers whose lease was taken over meanwhile."""
        if self._job is not None:
            self._job.beat()
        self.runner.check_blocked()
        if not self.running:
            return
        if self._next_renewal is None or now >= self._next_renewal:
            held_ids = self.store.renew_trigger_claims(self.id, now, self.lease)
            self._next_renewal = now + self.renew_every
            self._cancel(set(self.running) - held_ids)

    def _start(self, row: TriggerRow, now: datetime) -> None:
        name = trigger_name(row)
        try:
            trigger = build_trigger(row.classpath, row.kwargs)
        except HeadwaterError as exc:
            log.error("Trigger %s failed: %s", name, exc)
            self.store.fail_trigger(row.id, str(exc), now)
            return
        self.running[row.id] = row
        self.runner.run(row.id, trigger, name)

    def _cancel(self, trigger_ids: set[int]) -> None:
        """Stop triggers no longer held: fired, failed or deleted (their task moved on), or
        taken over by another triggerer."""
        if not trigger_ids:
            return
        for trigger_id in sorted(trigger_ids):
            row = self.running.pop(trigger_id)
            log.info("Stopped trigger %s: no longer held by this triggerer", trigger_name(row))
        self.runner.cancel(trigger_ids)

    def write_results(self, now: datetime | None = None) -> None:
        """Fire (one transaction) or fail the triggers that came to a result; kept to be
        written again when the database refuses (an event is never dropped)."""
        results = [*self._unwritten, *self.runner.results()]
        watched = [r for r in results if self.watchers.owns(r.trigger_id)]
        results = [r for r in results if not self.watchers.owns(r.trigger_id)]
        recorded = (watched or self.watchers.has_unwritten()) and self.watchers.record(
            watched, now or self.clock.now()
        )
        if recorded and self.on_fired is not None:
            self.on_fired()  # a scheduler beside it creates the runs of the asset events
        if not results:
            return
        now = now or self.clock.now()
        payloads: dict[int, Any] = {}
        errors: dict[int, str] = {}
        for result in results:
            if result.error is not None:
                errors[result.trigger_id] = result.error
                continue
            try:  # stored as JSON: tuples become lists, as they will when read back
                payloads[result.trigger_id] = json.loads(dumps(result.payload))
            except (TypeError, ValueError) as exc:
                errors[result.trigger_id] = f"its event's payload is not JSON: {exc}"
        try:
            fired = self.store.fire_triggers(payloads, now)
            failed = {i for i, error in errors.items() if self.store.fail_trigger(i, error, now)}
        except DamagedDatabaseError:
            raise
        except Exception as exc:
            self._unwritten = results
            log.warning("Could not record %d trigger event(s); trying again: %s", len(results), exc)
            return
        self._unwritten = []
        for trigger_id in [*payloads, *errors]:
            row = self.running.pop(trigger_id, None)
            name = trigger_name(row) if row is not None else str(trigger_id)
            if trigger_id in fired:
                log.info("Trigger %s fired", name)
            elif trigger_id in failed:
                log.info("Trigger %s failed: %s", name, errors[trigger_id])
            else:
                log.info("Trigger %s ended, but was no longer waiting (fired elsewhere)", name)
        if (fired or failed) and self.on_fired is not None:
            self.on_fired()
