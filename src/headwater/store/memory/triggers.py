"""The trigger port in memory (see :mod:`headwater.store.triggers`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from headwater.engine.records import AttemptKey, Deferral
from headwater.engine.states import TaskInstanceState
from headwater.store.memory.core import MemoryCore, copy_json
from headwater.store.triggers import FAILED, FIRED, WAITING, TriggerRow, WatcherKey

_CURRENT_STATES = (TaskInstanceState.RUNNING, TaskInstanceState.DEFERRED)


class MemoryTriggers(MemoryCore):
    """Triggers in memory (one process: the lock makes every claim one at a time)."""

    def _insert_trigger(self, key: AttemptKey, deferral: Deferral, now: datetime) -> None:
        """Store the trigger of attempt ``key`` (with its outcome; call with the lock held)."""
        trigger_id = self._s.next_id("triggers")
        self._s.triggers[trigger_id] = TriggerRow(
            id=trigger_id,
            classpath=deferral.trigger_classpath,
            kwargs=copy_json(deferral.trigger_kwargs),
            key=key,
            created_at=now,
            timeout_at=deferral.timeout_at,
            state=WAITING,
        )

    def _of_current_try(self, row: TriggerRow) -> bool:
        key = row.key
        ti = self._s.tis.get((key.dag_id, key.run_id), {}).get((key.task_id, key.map_index))
        if ti is None:
            return False
        if ti.state is TaskInstanceState.QUEUED:  # its worker recorded the deferral first
            return ti.try_number == key.try_number - 1
        return ti.try_number == key.try_number and ti.state in _CURRENT_STATES

    def claim_triggers(
        self, triggerer_id: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[TriggerRow]:
        with self._lock:
            free = [
                row
                for row in sorted(self._s.triggers.values(), key=lambda r: r.id)
                if row.state == WAITING
                and (
                    row.triggerer_id is None
                    or (row.claim_expires_at is not None and row.claim_expires_at <= now)
                )
                and self._of_current_try(row)
            ]
            for row in free[:limit]:
                self._s.triggers[row.id] = dataclasses.replace(
                    row, triggerer_id=triggerer_id, claim_expires_at=now + lease
                )
            return [
                row
                for row in sorted(self._s.triggers.values(), key=lambda r: r.id)
                if row.state == WAITING
                and row.triggerer_id == triggerer_id
                and self._of_current_try(row)
            ]

    def renew_trigger_claims(self, triggerer_id: str, now: datetime, lease: timedelta) -> set[int]:
        with self._lock:
            held = {
                row.id
                for row in self._s.triggers.values()
                if row.state == WAITING and row.triggerer_id == triggerer_id
            }
            for trigger_id in held:
                self._s.triggers[trigger_id] = dataclasses.replace(
                    self._s.triggers[trigger_id], claim_expires_at=now + lease
                )
            return held

    def release_trigger_claims(self, triggerer_id: str) -> int:
        with self._lock:
            held = [
                row
                for row in self._s.triggers.values()
                if row.state == WAITING and row.triggerer_id == triggerer_id
            ]
            for row in held:
                self._s.triggers[row.id] = dataclasses.replace(
                    row, triggerer_id=None, claim_expires_at=None
                )
            return len(held)

    def fire_trigger(self, trigger_id: int, payload: Any, now: datetime) -> bool:
        return self._end_trigger(trigger_id, state=FIRED, fired_at=now, payload=copy_json(payload))

    def fire_triggers(self, payloads: Mapping[int, Any], now: datetime) -> set[int]:
        copies = {trigger_id: copy_json(payload) for trigger_id, payload in payloads.items()}
        with self._lock:  # all at once, as one transaction
            return {
                trigger_id
                for trigger_id, payload in copies.items()
                if self._end_trigger(trigger_id, state=FIRED, fired_at=now, payload=payload)
            }

    def fail_trigger(self, trigger_id: int, error: str, now: datetime) -> bool:
        return self._end_trigger(trigger_id, state=FAILED, fired_at=now, error=error)

    def _end_trigger(self, trigger_id: int, **values: Any) -> bool:
        with self._lock:
            row = self._s.triggers.get(trigger_id)
            if row is None or row.state != WAITING:
                return False
            self._s.triggers[trigger_id] = dataclasses.replace(row, **values)
            return True

    def get_trigger(self, trigger_id: int) -> TriggerRow | None:
        with self._lock:
            return self._s.triggers.get(trigger_id)

    def get_trigger_of(self, key: AttemptKey) -> TriggerRow | None:
        key = AttemptKey(*key)
        with self._lock:
            return next((r for r in self._s.triggers.values() if r.key == key), None)

    def list_triggers(self, states: Iterable[str] | None = None) -> list[TriggerRow]:
        wanted = None if states is None else set(states)
        with self._lock:
            rows = sorted(self._s.triggers.values(), key=lambda r: r.id)
        return [row for row in rows if wanted is None or row.state in wanted]

    def count_waiting_triggers(self) -> int:
        with self._lock:
            return sum(1 for row in self._s.triggers.values() if row.state == WAITING)

    def delete_trigger(self, trigger_id: int) -> bool:
        with self._lock:
            return self._s.triggers.pop(trigger_id, None) is not None

    def delete_orphan_triggers(self) -> int:
        with self._lock:
            orphans = [r.id for r in self._s.triggers.values() if not self._of_current_try(r)]
            for trigger_id in orphans:
                del self._s.triggers[trigger_id]
            return len(orphans)

    def claim_asset_watchers(
        self,
        triggerer_id: str,
        watchers: Iterable[WatcherKey],
        now: datetime,
        lease: timedelta,
        limit: int | None = None,
    ) -> set[WatcherKey]:
        wanted: list[WatcherKey] = [(str(u), str(n)) for u, n in dict.fromkeys(watchers)]
        room = limit
        with self._lock:
            claims = self._s.watcher_claims
            asked = set(wanted)
            for key in [k for k, (_, until) in claims.items() if until <= now]:
                if key not in asked:
                    del claims[key]  # ran out, and no DAG wants it
            held: set[WatcherKey] = set()
            for key in wanted:
                owner, until = claims.get(key, (None, now))
                if owner == triggerer_id and until > now:
                    claims[key] = (triggerer_id, now + lease)
                elif owner is None or until <= now:
                    if room is not None and room <= 0:
                        continue
                    if room is not None:
                        room -= 1
                    claims[key] = (triggerer_id, now + lease)
                else:
                    continue
                held.add(key)
            return held

    def release_asset_watchers(
        self, triggerer_id: str, watchers: Iterable[WatcherKey] | None = None
    ) -> int:
        only = None if watchers is None else {(str(u), str(n)) for u, n in watchers}
        with self._lock:
            claims = self._s.watcher_claims
            mine = [
                k
                for k, (owner, _) in claims.items()
                if owner == triggerer_id and (only is None or k in only)
            ]
            for key in mine:
                del claims[key]
            return len(mine)
