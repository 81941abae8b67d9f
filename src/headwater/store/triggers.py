"""The trigger port: what deferred attempts wait on, from their deferral to their resumption.

A trigger's life, each step one committed compare-and-set:

1. **created** ``waiting`` by the worker whose attempt deferred, in the transaction that
   records the attempt's outcome (``record_attempt_outcome`` with ``outcome.deferral``): a
   deferral without its trigger, or a trigger without its deferral, never exists;
2. **claimed** by one triggerer (:meth:`TriggerStore.claim_triggers`: a lease, renewed by its
   heartbeat; another triggerer takes over the triggers of one whose lease ran out);
3. **fired** once (:meth:`TriggerStore.fire_trigger`, ``waiting`` → ``fired`` with the
   event's payload) or **failed** (``waiting`` → ``failed`` with an error: the trigger raised
   or could not be built);
4. **resumed** by the scheduler: it moves the deferred instance to ``scheduled`` through the
   engine's ``resume`` rule and deletes the trigger, in one unit of work.

A trigger belongs to one try of one instance (:attr:`TriggerRow.key`): its current try,
while the instance is running or deferred in that try, or still ``queued`` in the try
before (the worker claimed the attempt and recorded the deferral before the scheduler
recorded the instance as started). One whose instance has moved on (cleared, marked, timed
out, a later try) is an orphan and is deleted
(:meth:`TriggerStore.delete_orphan_triggers`), never fired into another try.

Asset watchers (the triggers of ``Asset(watchers=[...])``) are not stored triggers: the
triggerer builds them from the DAGs that want them. Several triggerers share them by
claims too (:meth:`TriggerStore.claim_asset_watchers`, a lease per asset URI and watcher
name), so each runs on one triggerer, and another takes it over when that one's lease
runs out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from headwater.engine.records import AttemptKey

WAITING = "waiting"
FIRED = "fired"
FAILED = "failed"
TRIGGER_STATES = (WAITING, FIRED, FAILED)


WatcherKey = tuple[str, str]
"""An asset watcher: its asset's URI and its name (``Asset(watchers=[...])``)."""


@dataclass(frozen=True)
class TriggerRow:
    """One stored trigger."""

    id: int
    classpath: str
    kwargs: dict[str, Any]
    key: AttemptKey
    """The attempt that deferred (its instance resumes in the next try)."""
    created_at: datetime
    timeout_at: datetime | None
    state: str
    triggerer_id: str | None = None
    claim_expires_at: datetime | None = None
    fired_at: datetime | None = None
    payload: Any = None
    """The payload of the event that fired it (JSON values)."""
    error: str | None = None


class TriggerStore(ABC):
    """Triggers of deferred attempts (the store creates them with the deferred outcome)."""

    @abstractmethod
    def claim_triggers(
        self, triggerer_id: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[TriggerRow]:
        """Claim ``waiting`` triggers nobody holds (never claimed, or a lease that ran out)
        for ``triggerer_id`` until ``now + lease``, oldest first, at most ``limit`` new ones;
        returns **every** waiting trigger ``triggerer_id`` now holds (those it held already
        too, their leases unchanged). Only triggers of their instance's current try (see
        above) are claimed or returned: the trigger of an instance that moved on (an
        orphan) is left out, so its triggerer stops running it."""

    @abstractmethod
    def renew_trigger_claims(self, triggerer_id: str, now: datetime, lease: timedelta) -> set[int]:
        """Extend the leases ``triggerer_id`` holds on waiting triggers; their ids."""

    @abstractmethod
    def release_trigger_claims(self, triggerer_id: str) -> int:
        """Give up every waiting trigger ``triggerer_id`` holds (it stops); how many."""

    @abstractmethod
    def claim_asset_watchers(
        self,
        triggerer_id: str,
        watchers: Iterable[WatcherKey],
        now: datetime,
        lease: timedelta,
        limit: int | None = None,
    ) -> set[WatcherKey]:
        """Claim, among ``watchers`` (asset URI, watcher name: those the active DAGs want),
        those nobody holds (never claimed, or a lease that ran out) for ``triggerer_id``
        until ``now + lease``, at most ``limit`` new ones, and renew those it holds; returns
        those of ``watchers`` it holds now. Two triggerers claiming at once never both
        hold one. Claims that ran out, of watchers not in ``watchers`` (no DAG wants them:
        every triggerer asks with the same set), are deleted."""

    @abstractmethod
    def release_asset_watchers(
        self, triggerer_id: str, watchers: Iterable[WatcherKey] | None = None
    ) -> int:
        """Give up the watchers ``triggerer_id`` holds (those of ``watchers``, or all: it
        stops), so another triggerer takes them over at once; how many."""

    @abstractmethod
    def fire_trigger(self, trigger_id: int, payload: Any, now: datetime) -> bool:
        """``waiting`` → ``fired`` with ``payload`` (JSON values); False, writing nothing,
        when it is not waiting (fired already, failed, deleted): it fires once."""

    @abstractmethod
    def fire_triggers(self, payloads: Mapping[int, Any], now: datetime) -> set[int]:
        """:meth:`fire_trigger` for many triggers, in one transaction (a triggerer writes the
        events that came at once together): each trigger of ``payloads`` still ``waiting``
        fires with its payload; the ids fired (the others, not waiting, are left as they
        are)."""

    @abstractmethod
    def fail_trigger(self, trigger_id: int, error: str, now: datetime) -> bool:
        """``waiting`` → ``failed`` with ``error``; False, writing nothing, when not waiting."""

    @abstractmethod
    def get_trigger(self, trigger_id: int) -> TriggerRow | None: ...

    @abstractmethod
    def get_trigger_of(self, key: AttemptKey) -> TriggerRow | None:
        """The trigger the attempt ``key`` deferred to, if it is stored."""

    @abstractmethod
    def list_triggers(self, states: Iterable[str] | None = None) -> list[TriggerRow]:
        """Triggers (in those states), oldest first."""

    @abstractmethod
    def count_waiting_triggers(self) -> int: ...

    @abstractmethod
    def delete_trigger(self, trigger_id: int) -> bool: ...

    @abstractmethod
    def delete_orphan_triggers(self) -> int:
        """Delete the triggers whose attempt is no longer its instance's current try (see
        above: cleared, marked, ended with its run, a later try); how many."""
