"""Plain records the stores take and return besides the engine's (never ORM objects).

Runs, task instances and attempts are the engine's own records
(:mod:`headwater.engine.records`); these are for what only the scheduler, the DAG processor
and the CLI need (the ports of :mod:`headwater.store.ports`): DAG files and DAGs, import
errors, pools, variables, the event log, jobs, backfills, run claims, the liveness of
running attempts, and the accounts of the REST API and UI (users, roles, API tokens, sessions,
failed logins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The engine's key of one attempt, kept importable from here.
from headwater.engine.records import AttemptKey as AttemptKey


@dataclass
class DagFileRow:
    """A DAG file as last parsed: its hash says whether it changed since."""

    path: str
    source_hash: str
    mtime: float
    last_parsed_at: datetime
    dag_ids: list[str] = field(default_factory=list)


@dataclass
class DagRow:
    """One DAG as the DAG processor last saw it, with its scheduling state.

    ``serialized`` is the serialized DAG (a JSON-compatible dict). ``is_paused`` and the
    ``next_dagrun_*`` fields belong to people and the scheduler: :meth:`SqlStore.upsert_dag`
    sets them only when it creates the row (see there).
    """

    dag_id: str
    fileloc: str | None = None
    source_hash: str | None = None
    serialized: dict[str, Any] | None = None
    serialized_version: int | None = None
    is_paused: bool = False
    is_active: bool = True
    last_parsed_at: datetime | None = None
    description: str | None = None
    schedule: str | None = None
    tags: list[str] = field(default_factory=list)
    next_dagrun_logical_date: datetime | None = None
    next_dagrun_data_interval_start: datetime | None = None
    next_dagrun_data_interval_end: datetime | None = None
    next_dagrun_create_after: datetime | None = None
    display_name: str | None = None
    """``dag_display_name`` when the DAG sets one (None: it is named by its id)."""

    @property
    def shown_name(self) -> str:
        """How commands and pages name the DAG: its display name, else its id."""
        return self.display_name or self.dag_id


@dataclass(frozen=True)
class DagVersionRow:
    """Which version of a DAG is stored (its file's hash and path) and whether it is paused,
    without the serialized structure: what a scheduler pass compares to the DAGs it holds,
    to fetch again (``get_dag``) only those whose hash changed."""

    dag_id: str
    source_hash: str | None
    fileloc: str | None
    is_paused: bool


@dataclass
class ImportErrorRow:
    """Why a DAG file failed to load (one file may have several)."""

    filename: str
    message: str
    created_at: datetime
    line: int | None = None
    stacktrace: str | None = None


@dataclass
class PoolRow:
    name: str
    slots: int
    description: str = ""


@dataclass
class VariableRow:
    key: str
    value: str
    description: str | None = None


@dataclass
class EventRow:
    """One entry of the event log: a state change, a trigger, a pause, a clear, ..."""

    id: int
    at: datetime
    kind: str
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    state: str | None = None
    detail: str | None = None
    actor: str | None = None
    """Who did it: a user's name (the REST API and UI), ``cli:<OS user>`` (the CLI), or
    None (the scheduler, or code that set no actor)."""


@dataclass
class JobRow:
    """A scheduler, DAG processor or worker process; a stale heartbeat means it died."""

    id: int
    kind: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    ended_at: datetime | None = None


@dataclass
class AttemptHeartbeat:
    """Liveness of a running attempt: its last heartbeat and who runs it."""

    heartbeat_at: datetime | None
    worker: str | None


@dataclass(frozen=True)
class BackfillRow:
    """One stored backfill: a request to run a DAG over a range of logical dates."""

    id: int
    dag_id: str
    start: datetime
    end: datetime
    reprocess: str
    max_active_runs: int
    created_at: datetime
    created_by: str | None = None
    """Who asked for it (a user, or ``cli:<OS user>``); None if unknown (before migration 0007)."""
    completed_at: datetime | None = None
    """When it was cancelled: from then on none of its queued runs starts; None until then."""
    run_backwards: bool = False
    """The scheduler starts its newest logical dates first."""


@dataclass(frozen=True)
class RunClaim:
    """Which scheduler owns a run, until when (see ``ClaimStore`` in headwater.store.ports)."""

    dag_id: str
    run_id: str
    claimed_by: str
    expires_at: datetime


@dataclass(frozen=True)
class RunSummaryRow:
    """A run as lists show it (the DAG list's dots): who, which, how it went, for when."""

    dag_id: str
    run_id: str
    state: str
    run_type: str
    logical_date: datetime


# -- accounts: users, roles, API tokens, sessions, failed logins -------------------------------


@dataclass
class UserRow:
    """A user of the REST API and web UI; ``password_hash`` is an Argon2id hash (never the
    password, and never shown)."""

    username: str
    password_hash: str
    role: str
    created_at: datetime
    last_login_at: datetime | None = None
    disabled: bool = False


@dataclass
class RoleRow:
    """A role made by an admin: a level (``viewer`` or ``op``) and the DAG tags it is limited
    to (empty: every DAG). The built-in ``admin``, ``op`` and ``viewer`` have no row."""

    name: str
    level: str
    dag_tags: list[str] = field(default_factory=list)


@dataclass
class TokenRow:
    """An API token of one user: only its SHA-256 hash is stored, and its first characters
    (``prefix``) so people can tell their tokens apart."""

    id: str
    name: str
    username: str
    token_hash: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class SessionRow:
    """A logged-in browser: the SHA-256 hash of its cookie's secret, its CSRF token, and when
    it ends unless used again (each use moves ``expires_at`` on)."""

    id_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass
class LoginFailureRow:
    """Failed logins of one key (``user:<name>`` or ``address:<ip>``) since ``first_at``;
    ``locked_until`` is set once there were too many."""

    key: str
    count: int
    first_at: datetime
    locked_until: datetime | None = None
