"""The trigger port on SQL: the ``triggers`` table (migration 0008).

Claims work as run claims do (:mod:`headwater.store.sql.claims`): on PostgreSQL the select
locks with ``FOR UPDATE SKIP LOCKED``, on SQLite ``BEGIN IMMEDIATE`` serializes writers.
Firing and failing are one conditional ``UPDATE`` each (``state = 'waiting'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Row,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection as SAConnection

from headwater.db import dialect
from headwater.db.convert import TIS
from headwater.db.data_aware_models import AssetWatcherClaimModel, TriggerModel
from headwater.engine.records import AttemptKey, Deferral
from headwater.engine.states import TaskInstanceState
from headwater.store.sql.core import SqlCore
from headwater.store.triggers import FAILED, FIRED, WAITING, TriggerRow, WatcherKey

TRIGGERS = cast(Table, TriggerModel.__table__)
WATCHER_CLAIMS = cast(Table, AssetWatcherClaimModel.__table__)
_CURRENT_STATES = (TaskInstanceState.RUNNING.value, TaskInstanceState.DEFERRED.value)
_QUEUED = TaskInstanceState.QUEUED.value


def _of_current_try() -> Any:
    """The trigger's attempt is its instance's current try, running or deferred; or the
    try about to start of a queued instance (its worker claimed the attempt and recorded
    the deferral before the scheduler recorded the instance as running)."""
    t = TRIGGERS.c
    return exists().where(
        TIS.c.dag_id == t.dag_id,
        TIS.c.run_id == t.run_id,
        TIS.c.task_id == t.task_id,
        TIS.c.map_index == t.map_index,
        or_(
            and_(TIS.c.try_number == t.try_number, TIS.c.state.in_(_CURRENT_STATES)),
            and_(TIS.c.try_number == t.try_number - 1, TIS.c.state == _QUEUED),
        ),
    )


def to_trigger(row: Row[Any]) -> TriggerRow:
    v = row._mapping
    event = v["event"]
    return TriggerRow(
        id=v["id"],
        classpath=v["classpath"],
        kwargs=dict(v["kwargs"]),
        key=AttemptKey(v["dag_id"], v["run_id"], v["task_id"], v["map_index"], v["try_number"]),
        created_at=v["created_at"],
        timeout_at=v["timeout_at"],
        state=v["state"],
        triggerer_id=v["triggerer_id"],
        claim_expires_at=v["claim_expires_at"],
        fired_at=v["fired_at"],
        payload=None if event is None else event.get("payload"),
        error=v["error"],
    )


def insert_trigger(conn: SAConnection, key: AttemptKey, deferral: Deferral, now: datetime) -> None:
    """Store the trigger of attempt ``key``, which deferred (inside the transaction that
    records its outcome)."""
    conn.execute(
        insert(TRIGGERS).values(
            classpath=deferral.trigger_classpath,
            kwargs=deferral.trigger_kwargs,
            **key._asdict(),
            created_at=now,
            timeout_at=deferral.timeout_at,
            state=WAITING,
        )
    )


class SqlTriggers(SqlCore):
    """Triggers on SQL."""

    def claim_triggers(
        self, triggerer_id: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[TriggerRow]:
        t = TRIGGERS.c
        # Nobody's (its own are not claimed again: ``limit`` counts new claims only).
        free = or_(t.triggerer_id.is_(None), t.claim_expires_at <= now)
        query = (
            select(t.id)
            .where(t.state == WAITING, free, _of_current_try())
            .order_by(t.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if limit is None or limit > 0:
            with self._write() as conn:
                ids = [row.id for row in conn.execute(query)]
                if ids:
                    conn.execute(
                        update(TRIGGERS)
                        .where(t.id.in_(ids))
                        .values(triggerer_id=triggerer_id, claim_expires_at=now + lease)
                    )
        # Read after the claim's commit, not under its write lock (SQLite's is the whole
        # database's): a triggerer holding 1,000 triggers reads them all.
        held = select(TRIGGERS).where(
            t.state == WAITING, t.triggerer_id == triggerer_id, _of_current_try()
        )
        with self._read() as conn:
            return [to_trigger(row) for row in conn.execute(held.order_by(t.id))]

    def renew_trigger_claims(self, triggerer_id: str, now: datetime, lease: timedelta) -> set[int]:
        t = TRIGGERS.c
        held = and_(t.state == WAITING, t.triggerer_id == triggerer_id)
        with self._write() as conn:
            conn.execute(update(TRIGGERS).where(held).values(claim_expires_at=now + lease))
            return {row.id for row in conn.execute(select(t.id).where(held))}

    def release_trigger_claims(self, triggerer_id: str) -> int:
        t = TRIGGERS.c
        query = (
            update(TRIGGERS)
            .where(t.state == WAITING, t.triggerer_id == triggerer_id)
            .values(triggerer_id=None, claim_expires_at=None)
        )
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def fire_trigger(self, trigger_id: int, payload: Any, now: datetime) -> bool:
        return self._end_trigger(trigger_id, state=FIRED, fired_at=now, event={"payload": payload})

    def fire_triggers(self, payloads: Mapping[int, Any], now: datetime) -> set[int]:
        if not payloads:
            return set()
        if len(payloads) == 1:  # the usual case: one statement (autocommit on PostgreSQL)
            [(trigger_id, payload)] = payloads.items()
            return {trigger_id} if self.fire_trigger(trigger_id, payload, now) else set()
        t = TRIGGERS.c
        # The waiting ones are locked first (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the
        # whole database), so the UPDATE below changes exactly those: one executemany.
        waiting = select(t.id).where(t.id.in_(list(payloads)), t.state == WAITING).with_for_update()
        query = (
            update(TRIGGERS)
            .where(t.id == bindparam("trigger_id"), t.state == WAITING)
            .values(state=FIRED, fired_at=now, event=bindparam("fired_event"))
        )
        with self._write() as conn:
            fired = {row.id for row in conn.execute(waiting)}
            if fired:
                conn.execute(
                    query,
                    [
                        {"trigger_id": i, "fired_event": {"payload": payloads[i]}}
                        for i in sorted(fired)
                    ],
                )
        return fired

    def fail_trigger(self, trigger_id: int, error: str, now: datetime) -> bool:
        return self._end_trigger(trigger_id, state=FAILED, fired_at=now, error=error)

    def _end_trigger(self, trigger_id: int, **values: Any) -> bool:
        t = TRIGGERS.c
        query = update(TRIGGERS).where(t.id == trigger_id, t.state == WAITING).values(**values)
        with self._write_one() as conn:
            return bool(conn.execute(query).rowcount)

    def get_trigger(self, trigger_id: int) -> TriggerRow | None:
        with self._read() as conn:
            row = conn.execute(select(TRIGGERS).where(TRIGGERS.c.id == trigger_id)).first()
        return None if row is None else to_trigger(row)

    def get_trigger_of(self, key: AttemptKey) -> TriggerRow | None:
        t = TRIGGERS.c
        query = select(TRIGGERS).where(
            t.dag_id == key.dag_id,
            t.run_id == key.run_id,
            t.task_id == key.task_id,
            t.map_index == key.map_index,
            t.try_number == key.try_number,
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else to_trigger(row)

    def list_triggers(self, states: Iterable[str] | None = None) -> list[TriggerRow]:
        query = select(TRIGGERS).order_by(TRIGGERS.c.id)
        if states is not None:
            query = query.where(TRIGGERS.c.state.in_(list(states)))
        with self._read() as conn:
            return [to_trigger(row) for row in conn.execute(query)]

    def count_waiting_triggers(self) -> int:
        query = select(func.count()).select_from(TRIGGERS).where(TRIGGERS.c.state == WAITING)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def delete_trigger(self, trigger_id: int) -> bool:
        with self._write_one() as conn:
            return bool(conn.execute(delete(TRIGGERS).where(TRIGGERS.c.id == trigger_id)).rowcount)

    def delete_orphan_triggers(self) -> int:
        with self._write() as conn:
            return int(conn.execute(delete(TRIGGERS).where(~_of_current_try())).rowcount)

    def claim_asset_watchers(
        self,
        triggerer_id: str,
        watchers: Iterable[WatcherKey],
        now: datetime,
        lease: timedelta,
        limit: int | None = None,
    ) -> set[WatcherKey]:
        wanted = sorted({(str(uri), str(name)) for uri, name in watchers})
        c = WATCHER_CLAIMS.c
        until = now + lease
        with self._write() as conn:
            ran_out = delete(WATCHER_CLAIMS).where(c.claim_expires_at <= now)
            if wanted:
                ran_out = ran_out.where(tuple_(c.uri, c.name).notin_(wanted))
            conn.execute(ran_out)
            if not wanted:
                return set()
            keys = tuple_(c.uri, c.name).in_(wanted)
            conn.execute(  # renew its own
                update(WATCHER_CLAIMS)
                .where(keys, c.triggerer_id == triggerer_id, c.claim_expires_at > now)
                .values(claim_expires_at=until)
            )
            # Take over those that ran out, then claim the unclaimed. Both writes are
            # compare-and-set: the update only while the lease is out, the insert only while
            # no row exists (two triggerers inserting one key at once: the second does
            # nothing), so what the read below saw may be stale without harm.
            ends = {
                (row.uri, row.name): row.claim_expires_at
                for row in conn.execute(select(c.uri, c.name, c.claim_expires_at).where(keys))
            }
            free = sorted(k for k, end in ends.items() if end <= now)
            new = free + [k for k in wanted if k not in ends]
            if limit is not None:
                new = new[: max(limit, 0)]
            for uri, name in new:
                if (uri, name) in ends:
                    conn.execute(
                        update(WATCHER_CLAIMS)
                        .where(c.uri == uri, c.name == name, c.claim_expires_at <= now)
                        .values(triggerer_id=triggerer_id, claim_expires_at=until)
                    )
                else:
                    conn.execute(
                        dialect.insert_if_absent(conn.dialect.name, WATCHER_CLAIMS).values(
                            uri=uri, name=name, triggerer_id=triggerer_id, claim_expires_at=until
                        )
                    )
            held = select(c.uri, c.name).where(keys, c.triggerer_id == triggerer_id)
            return {(row.uri, row.name) for row in conn.execute(held)}

    def release_asset_watchers(
        self, triggerer_id: str, watchers: Iterable[WatcherKey] | None = None
    ) -> int:
        c = WATCHER_CLAIMS.c
        query = delete(WATCHER_CLAIMS).where(c.triggerer_id == triggerer_id)
        if watchers is not None:
            only = sorted({(str(uri), str(name)) for uri, name in watchers})
            if not only:
                return 0
            query = query.where(tuple_(c.uri, c.name).in_(only))
        with self._write() as conn:
            return int(conn.execute(query).rowcount)
