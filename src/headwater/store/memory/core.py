"""What every part of the memory store shares: its state, its lock, copying records.

Every record goes in and out as a copy, so callers never share an object with the store.
One re-entrant lock guards the state: a unit of work holds it from start to end (other
threads wait), and the methods it calls take it again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from headwater.clock import Clock
from headwater.db.models import DEFAULT_POOL, DEFAULT_POOL_DESCRIPTION, DEFAULT_POOL_SLOTS
from headwater.db.rows import (
    BackfillRow,
    DagFileRow,
    DagRow,
    EventRow,
    ImportErrorRow,
    JobRow,
    LoginFailureRow,
    PoolRow,
    RoleRow,
    RunClaim,
    SessionRow,
    TokenRow,
    UserRow,
    VariableRow,
)
from headwater.engine.records import (
    AttemptKey,
    DagRun,
    Deferral,
    OutletEvent,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import TaskInstanceState
from headwater.store.base import Connection
from headwater.store.deadlines import DeadlineRow
from headwater.store.memory.asset_tables import AssetTables
from headwater.store.state_stores import TaskStateScope
from headwater.store.triggers import TriggerRow, WatcherKey

RunKey = tuple[str, str]


@dataclass
class AttemptLife:
    """A stored attempt's liveness, beside its record (as the SQL columns are)."""

    heartbeat_at: Any
    worker: str | None = None


@dataclass(frozen=True)
class StateRow:
    """One stored state value (task or asset): its JSON text, when written, when it expires."""

    value: str
    updated_at: datetime
    expires_at: datetime | None = None


@dataclass
class MemoryState:
    """Everything a memory store holds."""

    runs: dict[RunKey, DagRun] = field(default_factory=dict)
    tis: dict[RunKey, dict[tuple[str, int], TaskInstance]] = field(default_factory=dict)
    queued_at: dict[TaskInstanceKey, datetime] = field(default_factory=dict)
    """When each instance was last written queued (the SQL store's ``queued_at``)."""
    attempts: dict[RunKey, dict[tuple[str, int, int], TaskAttempt]] = field(default_factory=dict)
    attempt_life: dict[tuple[str, str, str, int, int], AttemptLife] = field(default_factory=dict)
    # (dag_id, run_id, task_id, name) -> {map_index: value}
    xcoms: dict[tuple[str, str, str, str], dict[int, str]] = field(default_factory=dict)
    claims: dict[RunKey, RunClaim] = field(default_factory=dict)
    dag_files: dict[str, DagFileRow] = field(default_factory=dict)
    dags: dict[str, DagRow] = field(default_factory=dict)
    import_errors: dict[str, list[ImportErrorRow]] = field(default_factory=dict)
    pools: dict[str, PoolRow] = field(
        default_factory=lambda: {
            DEFAULT_POOL: PoolRow(DEFAULT_POOL, DEFAULT_POOL_SLOTS, DEFAULT_POOL_DESCRIPTION)
        }
    )
    variables: dict[str, VariableRow] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    jobs: dict[int, JobRow] = field(default_factory=dict)
    backfills: dict[int, BackfillRow] = field(default_factory=dict)
    users: dict[str, UserRow] = field(default_factory=dict)
    roles: dict[str, RoleRow] = field(default_factory=dict)
    tokens: dict[str, TokenRow] = field(default_factory=dict)
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    login_failures: dict[str, LoginFailureRow] = field(default_factory=dict)
    triggers: dict[int, TriggerRow] = field(default_factory=dict)
    watcher_claims: dict[WatcherKey, tuple[str, datetime]] = field(default_factory=dict)
    """Per asset watcher: the triggerer holding it and when its lease runs out."""
    deadlines: dict[int, DeadlineRow] = field(default_factory=dict)
    asset_tables: AssetTables = field(default_factory=AssetTables)
    task_state: dict[TaskStateScope, dict[str, StateRow]] = field(default_factory=dict)
    asset_state: dict[str, dict[str, StateRow]] = field(default_factory=dict)
    last_id: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """The next id of ``table`` (ids only grow, as the SQL sequences)."""
        self.last_id[table] = self.last_id.get(table, 0) + 1
        return self.last_id[table]


class MemoryCore:
    """The state, its lock and the clock."""

    clock: Clock
    _lock: threading.RLock
    _s: MemoryState

    def _insert_trigger(self, key: AttemptKey, deferral: Deferral, now: datetime) -> None:
        """Store the trigger of a deferred attempt (:class:`MemoryTriggers`)."""
        raise NotImplementedError

    def _record_outlet_events(
        self, key: AttemptKey, events: list[OutletEvent], now: datetime
    ) -> None:
        """Record a successful attempt's asset events (:class:`MemoryAssets`)."""
        raise NotImplementedError

    def _note_queued(self, tis: Iterable[TaskInstance]) -> None:
        """Remember when instances were written queued (the SQL store's ``queued_at``).
        Call with the lock held."""
        now = None
        for ti in tis:
            if ti.state is TaskInstanceState.QUEUED:
                now = now or self.clock.now()
                self._s.queued_at[ti.key] = now


_Record = TypeVar("_Record", TaskInstance, TaskAttempt)


def clone(record: _Record) -> _Record:
    """A shallow copy of a record (what ``copy.copy`` does, several times faster)."""
    copied = object.__new__(type(record))
    copied.__dict__.update(record.__dict__)
    return copied


def copy_attempt(attempt: TaskAttempt) -> TaskAttempt:
    copied = clone(attempt)
    if attempt.rendered_fields:
        copied.rendered_fields = copy_json(attempt.rendered_fields)
    return copied


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (what rendered fields are), faster than ``deepcopy``."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
