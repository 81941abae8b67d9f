"""The metadata database's tables, as SQLAlchemy typed declarative models.

These classes are the schema; the store reads and writes them mostly through SQLAlchemy Core
(``Model.__table__``), and never hands them out: callers get the engine's records
(:mod:`headwater.engine.records`) or the dataclasses of :mod:`headwater.db.rows`.

Every change here needs a migration in ``headwater/db/migrations/versions``; a test checks
that the migrations and these models agree.

Keys and relations::

    dag_files (path)            dags (dag_id)          import_errors (filename, position)
    dag_runs (dag_id, run_id) ◀─┬─ task_instances (…, task_id, map_index)    ON DELETE CASCADE
                                ├─ task_attempts  (…, task_id, map_index, try_number)
                                └─ xcoms          (…, task_id, map_index, key)
    pools (name)   variables (key)   connections (conn_id)   events (id)   jobs (id)
    users (username) ◀─┬─ api_tokens (id)       ON DELETE CASCADE
                       └─ sessions (id_hash)
    roles (name)   login_failures (key)

Runs are not tied to ``dags`` by a foreign key: ``dags test`` runs a DAG that no DAG
processor has recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from headwater.db.types import UTCDateTime

ID_LENGTH = 250
"""Longest dag, run, task, pool, variable or connection id (``validate_run_id`` allows 250)."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Every constraint has a predictable name, so later migrations can alter it (SQLite's
batch mode rebuilds tables and needs the names)."""


def _id() -> Any:
    return String(ID_LENGTH)


def _run_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["dag_id", "run_id"], ["dag_runs.dag_id", "dag_runs.run_id"], ondelete="CASCADE"
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class DagFileModel(Base):
    """One parsed DAG file: its hash tells the DAG processor whether it changed."""

    __tablename__ = "dag_files"

    path: Mapped[str] = mapped_column(Text, primary_key=True)
    source_hash: Mapped[str] = mapped_column(String(64))
    mtime: Mapped[float] = mapped_column(Float)
    last_parsed_at: Mapped[datetime]
    dag_ids: Mapped[list[str]]


class DagModel(Base):
    """One DAG as last parsed, with its pause flag and when its next scheduled run is due."""

    __tablename__ = "dags"

    dag_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    fileloc: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[str | None] = mapped_column(String(64))
    serialized: Mapped[str | None] = mapped_column(Text)
    """The serialized DAG as JSON text."""
    serialized_version: Mapped[int | None] = mapped_column(Integer)
    is_paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    """False once its file no longer defines it (or the file is gone)."""
    last_parsed_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    next_dagrun_logical_date: Mapped[datetime | None]
    next_dagrun_data_interval_start: Mapped[datetime | None]
    next_dagrun_data_interval_end: Mapped[datetime | None]
    next_dagrun_create_after: Mapped[datetime | None]
    display_name: Mapped[str | None] = mapped_column(Text)
    """``dag_display_name`` when the DAG sets one (None: pages show its id)."""


class DagRunModel(Base):
    """One run of one DAG (:class:`headwater.engine.records.DagRun`)."""

    __tablename__ = "dag_runs"
    __table_args__ = (
        Index("ix_dag_runs_dag_id_logical_date", "dag_id", "logical_date"),
        Index("ix_dag_runs_state", "state"),
    )

    dag_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    logical_date: Mapped[datetime]
    data_interval_start: Mapped[datetime]
    data_interval_end: Mapped[datetime]
    run_type: Mapped[str] = mapped_column(String(20))
    """'manual', 'scheduled' or 'backfill'."""
    state: Mapped[str] = mapped_column(String(20))
    conf: Mapped[dict[str, Any]]
    params: Mapped[dict[str, Any]]
    queued_at: Mapped[datetime | None]
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    backfill_id: Mapped[int | None] = mapped_column(Integer)
    partition_key: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The partition the run works on (migration 0008)."""
    claimed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The scheduler that owns the run while ``claim_expires_at`` is ahead (migration 0004)."""
    claim_expires_at: Mapped[datetime | None]


class TaskInstanceModel(Base):
    """One task in one run at one map index (:class:`~headwater.engine.records.TaskInstance`)."""

    __tablename__ = "task_instances"
    __table_args__ = (_run_fk(), Index("ix_task_instances_state", "state"))

    dag_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    task_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    try_number: Mapped[int] = mapped_column(Integer)
    max_tries: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    priority_weight: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(_id())
    pool_slots: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(_id())
    queued_at: Mapped[datetime | None]
    """When it last became queued."""
    updated_at: Mapped[datetime | None]
    """When it was last written."""
    next_method: Mapped[str | None] = mapped_column(_id())
    """Deferral (migration 0008): the method its next try calls instead of ``execute``."""
    next_kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    trigger_timeout: Mapped[datetime | None]


class TaskAttemptModel(Base):
    """One try of one task instance (:class:`~headwater.engine.records.TaskAttempt`)."""

    __tablename__ = "task_attempts"
    __table_args__ = (_run_fk(), Index("ix_task_attempts_state", "state"))

    dag_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    task_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    try_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    duration: Mapped[float | None] = mapped_column(Float)
    """Seconds from start to end, written by the store from the two dates."""
    hostname: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    rendered_fields: Mapped[dict[str, Any]]
    heartbeat_at: Mapped[datetime | None]
    """Last sign of life of the process running it (its start, then each heartbeat)."""
    worker: Mapped[str | None] = mapped_column(Text)
    """Id of the executor or worker running it."""
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """How it ended, recorded by whoever ran it (:meth:`AttemptOutcome.to_json`); null while
    it runs."""


class XComModel(Base):
    """One value a task instance passed on, serialized as text."""

    __tablename__ = "xcoms"
    __table_args__ = (_run_fk(),)

    dag_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    run_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    task_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(_id(), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PoolModel(Base):
    """A limit on how many slots running task instances may hold; ``default_pool`` always exists."""

    __tablename__ = "pools"

    name: Mapped[str] = mapped_column(_id(), primary_key=True)
    slots: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, server_default="")


class VariableModel(Base):
    """A variable; ``value`` is Fernet-encrypted when ``is_encrypted`` (docs/connections.md)."""

    __tablename__ = "variables"

    key: Mapped[str] = mapped_column(_id(), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, server_default=false())


class ConnectionModel(Base):
    """A :class:`headwater.store.base.Connection`. ``extra`` is its JSON object as text;
    ``password`` and ``extra`` are Fernet-encrypted when ``is_encrypted`` and
    ``is_extra_encrypted`` say so (rows written without a key stay readable after one is set)."""

    __tablename__ = "connections"

    conn_id: Mapped[str] = mapped_column(_id(), primary_key=True)
    conn_type: Mapped[str] = mapped_column(_id())
    description: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(Text)
    login: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    schema: Mapped[str | None] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[str] = mapped_column(Text)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_extra_encrypted: Mapped[bool] = mapped_column(Boolean, server_default=false())


class ImportErrorModel(Base):
    """Why a DAG file failed to load; ``position`` orders the errors of one file."""

    __tablename__ = "import_errors"

    filename: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    stacktrace: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class EventModel(Base):
    """The event log: one row per state change, trigger, pause or clear."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_dag_id_run_id", "dag_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    dag_id: Mapped[str | None] = mapped_column(_id())
    run_id: Mapped[str | None] = mapped_column(_id())
    task_id: Mapped[str | None] = mapped_column(_id())
    map_index: Mapped[int | None] = mapped_column(Integer)
    try_number: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    """What people did: 'trigger', 'clear', 'mark', 'pause', 'delete_run', 'delete_dag',
    'backfill'."""
    state: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(_id())
    """Who did it: a username, ``cli:<OS user>``, or null (migration 0006)."""


class JobModel(Base):
    """A running (or ended) scheduler, DAG processor or worker process, with its heartbeat."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50))
    """'scheduler', 'dag_processor' or 'worker'."""
    hostname: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class UserModel(Base):
    """A user of the REST API and web UI (migration 0006); ``role`` names a built-in role
    (admin, op, viewer) or a row of ``roles``."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(_id(), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    """Argon2id, as :mod:`headwater.auth.passwords` writes it."""
    role: Mapped[str] = mapped_column(_id())
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false())


class RoleModel(Base):
    """A role made by an admin: a level (viewer or op) and the DAG tags it is limited to."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(_id(), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    dag_tags: Mapped[list[str]]


def _user_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE")


class ApiTokenModel(Base):
    """A bearer token of the REST API: its SHA-256 hash, never the token."""

    __tablename__ = "api_tokens"
    __table_args__ = (_user_fk(), Index("ix_api_tokens_username", "username"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(_id())
    username: Mapped[str] = mapped_column(_id())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, for people to tell tokens apart."""
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SessionModel(Base):
    """A logged-in browser: the SHA-256 hash of its cookie's secret and its CSRF token."""

    __tablename__ = "sessions"
    __table_args__ = (_user_fk(), Index("ix_sessions_username", "username"))

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(_id())
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginFailureModel(Base):
    """Failed logins per user name or client address, for the login rate limit."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    """``user:<name>`` or ``address:<ip>``."""
    count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


DEFAULT_POOL = "default_pool"
"""The pool of tasks that name none; migration 0001 creates it and it cannot be deleted."""
DEFAULT_POOL_SLOTS = 128
DEFAULT_POOL_DESCRIPTION = "Default pool"
