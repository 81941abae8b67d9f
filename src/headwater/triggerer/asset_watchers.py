"""The triggerer's asset watchers: the triggers of ``Asset(watchers=[...])``, run for as long
as a DAG scheduled on the asset is active and unpaused.

:class:`AssetWatchers` belongs to one :class:`~headwater.triggerer.triggerer.Triggerer`
and runs on its thread (it owns no thread or loop of its own). Each tick,
:meth:`AssetWatchers.refresh` reads which DAGs are active and unpaused (their versions only;
a DAG's serialized document is read again only when its hash changed), gathers the watchers
of the assets they are scheduled on (one per asset URI and watcher name, however many DAGs
name it), claims them (:meth:`~headwater.store.triggers.TriggerStore.claim_asset_watchers`:
when that set changes, and every ``claim_every``, which also renews its claims' leases), and
starts on the shared :class:`~headwater.triggerer.runner.TriggerRunner` those it holds and
does not run (one asyncio task per watcher), cancelling those no DAG wants any more (paused,
removed, or the watcher changed) and those another triggerer took over. Several triggerers
so share the watchers, each running on one of them; when a triggerer stops, it releases its
claims and another starts them at its next claim; when one dies, another takes them over
once their leases ran out.

Each event a watcher's trigger yields becomes an event of its asset
(:meth:`AssetWatchers.record`), through the same path as events created from outside
(:func:`headwater.store.recorded_asset_events.create_asset_event`: recorded, queued for the DAGs
scheduled on the asset, logged), with ``extra`` ``{"from_trigger": true, "watcher": name,
"payload": payload}``; the scheduler's asset scheduling then creates the runs. The trigger
is built again and restarted at once. A trigger that fails (raises, ends without an event,
cannot be built) is logged and restarted after :data:`RETRY_AFTER_S`.

The runner knows triggers by integer id; watchers take negative ids (stored triggers' are
positive), so the triggerer tells their results apart.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.dag_processing.serialized_assets import StoredWatcher, schedule_watchers
from headwater.db.errors import DamagedDatabaseError
from headwater.exceptions import HeadwaterError
from headwater.store.recorded_asset_events import create_asset_event
from headwater.strict_json import dumps
from headwater.triggers.base import build_trigger

if TYPE_CHECKING:
    from headwater.store.ports import Store
    from headwater.triggerer.runner import TriggerResult, TriggerRunner

log = logging.getLogger(__name__)

RETRY_AFTER_S = 60.0
"""How long a watcher whose trigger failed waits before it starts again."""

WatcherKey = tuple[str, str]
"""A watcher: its asset's URI and its name."""


@dataclass
class _Running:
    watcher: StoredWatcher
    trigger_id: int


def watcher_label(watcher: StoredWatcher) -> str:
    """How logs name a watcher: ``flag (pkg.FileDeleteTrigger) of asset 'inbox'``."""
    return f"{watcher.name} ({watcher.classpath}) of asset {watcher.uri!r}"


def watcher_extra(watcher: StoredWatcher, payload: Any) -> dict[str, Any]:
    """The ``extra`` of the asset event a watcher's event becomes."""
    return {"from_trigger": True, "watcher": watcher.name, "payload": payload}


class AssetWatchers:
    """The watchers one triggerer runs, over its store and runner (see the module)."""

    def __init__(
        self,
        store: Store,
        runner: TriggerRunner,
        *,
        owner: str,
        lease: timedelta,
        claim_every: timedelta,
        retry_after_s: float = RETRY_AFTER_S,
    ):
        self.store = store
        self.runner = runner
        self.owner = owner
        """The triggerer id its claims are held under."""
        self.lease = lease
        self.claim_every = claim_every
        self.retry_after = timedelta(seconds=retry_after_s)
        self.running: dict[WatcherKey, _Running] = {}
        self._held: set[WatcherKey] = set()
        """The watchers this triggerer holds a claim on, as of its last claim."""
        self._next_claim: datetime | None = None
        self._by_id: dict[int, WatcherKey] = {}
        self._ids = itertools.count(-1, -1)
        self._dags: dict[str, tuple[str | None, list[StoredWatcher]]] = {}
        """Per unpaused DAG: the source hash its watchers were read at, and the watchers."""
        self._wanted: dict[WatcherKey, StoredWatcher] = {}
        self._retry_at: dict[WatcherKey, datetime] = {}
        self._unwritten: list[tuple[StoredWatcher, Any, datetime]] = []

    @staticmethod
    def owns(trigger_id: int) -> bool:
        """Whether a runner result is a watcher's (negative id)."""
        return trigger_id < 0

    # -- which watchers run ------------------------------------------------------------------

    def refresh(self, now: datetime) -> None:
        """Start the watchers active, unpaused DAGs want and that do not run (nor wait to
        retry); cancel the running ones no DAG wants any more."""
        versions = {v.dag_id: v for v in self.store.list_dag_versions() if not v.is_paused}
        for dag_id in set(self._dags) - set(versions):
            del self._dags[dag_id]
        for dag_id, version in versions.items():
            known = self._dags.get(dag_id)
            if known is None or known[0] != version.source_hash:
                row = self.store.get_dag(dag_id)
                serialized = row.serialized if row is not None else None
                self._dags[dag_id] = (version.source_hash, schedule_watchers(serialized))
        wanted: dict[WatcherKey, StoredWatcher] = {}
        for dag_id in sorted(self._dags):
            for watcher in self._dags[dag_id][1]:
                key = (watcher.uri, watcher.name)
                if key in wanted and wanted[key] != watcher:
                    log.warning(
                        "Asset watcher %s: DAG %r defines it differently from another DAG "
                        "scheduled on the asset; the first definition (by DAG id) runs",
                        watcher_label(watcher),
                        dag_id,
                    )
                wanted.setdefault(key, watcher)
        changed = set(wanted) != set(self._wanted)
        self._wanted = wanted
        self._claim(now, changed)
        for key in [k for k, r in self.running.items() if wanted.get(k) != r.watcher]:
            self._stop(key, "no active, unpaused DAG is scheduled on it with this definition")
        for key in [k for k in self.running if k not in self._held]:
            self._stop(key, "another triggerer holds it now (this one's claim ran out)")
        for key in set(self._retry_at) - set(wanted):
            del self._retry_at[key]
        for key, watcher in wanted.items():
            ready = now >= self._retry_at.get(key, now)
            if key in self._held and key not in self.running and ready:
                self._start(key, watcher, now)

    def _claim(self, now: datetime, changed: bool) -> None:
        """Claim the wanted watchers nobody holds and renew this triggerer's claims: when
        the wanted ones changed, and every ``claim_every`` (so that it takes over those of
        a triggerer that stopped beating within a lease)."""
        due = self._next_claim is None or now >= self._next_claim
        if not (changed or due) or not (self._wanted or self._held):
            return
        self._held = self.store.claim_asset_watchers(
            self.owner, list(self._wanted), now, self.lease
        )
        self._next_claim = now + self.claim_every

    def release(self) -> int:
        """Give up every claim (the triggerer stops); how many."""
        self._held = set()
        return self.store.release_asset_watchers(self.owner)

    def _start(self, key: WatcherKey, watcher: StoredWatcher, now: datetime) -> None:
        self._retry_at.pop(key, None)
        try:
            trigger = build_trigger(watcher.classpath, watcher.kwargs)
        except HeadwaterError as exc:
            log.error("Asset watcher %s cannot start: %s", watcher_label(watcher), exc)
            self._retry_at[key] = now + self.retry_after
            return
        trigger_id = next(self._ids)
        self.running[key] = _Running(watcher, trigger_id)
        self._by_id[trigger_id] = key
        self.runner.run(trigger_id, trigger, f"asset watcher {watcher_label(watcher)}")

    def _stop(self, key: WatcherKey, why: str) -> None:
        running = self.running.pop(key)
        self._by_id.pop(running.trigger_id, None)
        self.runner.cancel({running.trigger_id})
        log.info("Stopped asset watcher %s: %s", watcher_label(running.watcher), why)

    def forget(self) -> None:
        """Forget every watcher (the runner stopped them all): the triggerer stops."""
        self.running.clear()
        self._by_id.clear()

    # -- what they yield ---------------------------------------------------------------------

    def record(self, results: list[TriggerResult], now: datetime) -> int:
        """Record the events in ``results`` (watchers' only) as asset events and restart
        their watchers; log and schedule a retry for those that failed. Events the database
        refuses are kept and written at the next call (never dropped). Returns how many
        asset events were recorded."""
        for result in results:
            key = self._by_id.pop(result.trigger_id, None)
            running = self.running.get(key) if key is not None else None
            if key is None or running is None or running.trigger_id != result.trigger_id:
                continue  # cancelled meanwhile (its DAG paused): its event is not wanted
            del self.running[key]
            watcher = running.watcher
            if result.error is not None:
                log.error(
                    "Asset watcher %s failed: %s; it starts again in %.0f s",
                    watcher_label(watcher),
                    result.error,
                    self.retry_after.total_seconds(),
                )
                self._retry_at[key] = now + self.retry_after
                continue
            try:  # stored as JSON: tuples become lists, as they will when read back
                payload = json.loads(dumps(result.payload))
            except (TypeError, ValueError) as exc:
                log.error(
                    "Asset watcher %s: its event's payload is not JSON (%s); recorded without it",
                    watcher_label(watcher),
                    exc,
                )
                payload = None
            self._unwritten.append((watcher, payload, now))
            if key in self._wanted:
                self._start(key, watcher, now)
        return self._write()

    def _write(self) -> int:
        written = 0
        while self._unwritten:
            watcher, payload, at = self._unwritten[0]
            try:
                create_asset_event(
                    self.store,
                    watcher.uri,
                    timestamp=at,
                    extra=watcher_extra(watcher, payload),
                    created_by=f"asset watcher {watcher.name}",
                    create=True,
                )
            except DamagedDatabaseError:
                raise
            except Exception as exc:
                log.warning(
                    "Could not record %d asset watcher event(s); trying again: %s",
                    len(self._unwritten),
                    exc,
                )
                break
            self._unwritten.pop(0)
            written += 1
            log.info("Asset watcher %s fired: asset event recorded", watcher_label(watcher))
        return written

    def has_unwritten(self) -> bool:
        return bool(self._unwritten)
