"""Creating the SQLAlchemy engine for a metadata database URL.

Two databases are supported:

* **SQLite** (``sqlite:///path/to/headwater.db``), the embedded default. The scheduler, the
  worker processes (which write XComs and attempt rows) and the CLI may all write to the
  same file at once, so every connection is set up for that:

  - ``journal_mode=WAL``: readers never block the writer, nor the writer the readers;
  - ``synchronous=NORMAL``: safe with WAL (a power cut may lose the last commits, never
    corrupt the file) and much faster than ``FULL``;
  - ``foreign_keys=ON``: SQLite ignores foreign keys (and so ``ON DELETE CASCADE``) unless
    asked;
  - a 30 second busy timeout: a writer waits for the lock instead of failing at once;
  - write transactions start with ``BEGIN IMMEDIATE``. A plain (deferred) ``BEGIN`` takes
    the write lock only at the first write; if another process wrote in between, SQLite
    cannot wait (the transaction's snapshot is stale) and fails with "database is locked"
    whatever the busy timeout. Taking the lock at ``BEGIN`` makes writers queue instead.
    pysqlite's own transaction handling is turned off and SQLAlchemy's ``begin`` event
    emits the ``BEGIN``, the recipe of SQLAlchemy's SQLite documentation. Connections
    marked with :data:`READ_ONLY` begin with a plain ``BEGIN`` so that reads never wait.

* **PostgreSQL** (``postgresql+psycopg://user:password@host:5432/db``) through psycopg 3.
  A pooled connection that sat idle for :data:`PING_AFTER_IDLE_S` or more is pinged when
  taken from the pool, so that one the server dropped meanwhile is replaced, not used.
  One used a moment ago is not pinged: the scheduler and the workers take a connection for
  every short transaction, and a ping on each (SQLAlchemy's ``pool_pre_ping``) was a
  quarter of their round trips. A server that goes away within that moment fails the next
  statement instead, as it could just after any ping; the pool then drops its connections.
  ``postgresql://`` and ``postgres://`` mean the same (psycopg 3 is the driver installed).

A SQLite file that is not a database, or is damaged, fails whatever statement meets the
damage (opening it, or a query hours later) with
:class:`~headwater.db.errors.DamagedDatabaseError`, which names the file and what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from headwater import strict_json
from headwater.db.errors import DamagedDatabaseError, DatabaseError
from headwater.db.sqlite_files import require_creatable_path
from headwater.private_files import create_private_file, make_private_folders

PING_AFTER_IDLE_S = 1.0
"""A PostgreSQL connection idle in the pool for this long is pinged before it is used."""

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another process's write to end before failing."""

READ_ONLY = "headwater_read_only"
"""Execution option for a connection that only reads: on SQLite it begins with a plain
``BEGIN`` (a consistent snapshot, no write lock) instead of ``BEGIN IMMEDIATE``::

    with engine.connect().execution_options(**{READ_ONLY: True}) as conn: ...
"""

_DAMAGED_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
"""SQLite's result codes for a file that is damaged or not a database at all."""

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``, set up for headwater's use of that database.

    Example::

        engine = create_db_engine("sqlite:////home/me/headwater/headwater.db")

    The folder of a SQLite file is created if missing, and the file when first connecting,
    both readable by their owner only (:mod:`headwater.private_files`). ``kwargs`` go to
    :func:`sqlalchemy.create_engine` (``echo=True`` to log SQL). An unsupported scheme
    raises :class:`~headwater.db.DatabaseError` naming it.
    """
    parsed = _parse(url)
    # Values in JSON columns that JSON cannot hold (a datetime in a run's conf, say) are
    # stored as their str() rather than failing the write. NaN and infinity are refused on
    # both databases alike: PostgreSQL rejects them, and SQLite would store text that is
    # not JSON. Inputs are checked before they get here; this is the last guard.
    kwargs.setdefault("json_serializer", _json_dumps)
    if parsed.drivername in _SQLITE_SCHEMES:
        return _sqlite_engine(parsed, **kwargs)
    if parsed.drivername in _POSTGRES_SCHEMES:
        return _postgres_engine(parsed.set(drivername="postgresql+psycopg"), **kwargs)
    raise DatabaseError(
        f"unsupported database URL scheme {parsed.drivername!r}: use "
        "'sqlite:///path/to/headwater.db' or 'postgresql+psycopg://user@host:5432/dbname'"
    )


def _postgres_engine(url: URL, **kwargs: Any) -> Engine:
    # Imported here: psycopg is 20 MB that a process on SQLite need not hold.
    import psycopg

    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except psycopg.Error as exc:
            # The pool drops this connection and takes another (or opens a new one).
            raise DisconnectionError(f"the connection failed while it was idle: {exc}") from exc

    return engine


def _json_dumps(value: Any) -> str:
    return strict_json.dumps(value, default=str)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        # The message names only the scheme: the rest of the URL may hold a password.
        scheme = url.split("://", 1)[0] if "://" in url else url[:20]
        raise DatabaseError(
            f"cannot parse the database URL (scheme {scheme!r}); expected "
            "'sqlite:///path/to/headwater.db' or 'postgresql+psycopg://user@host:5432/dbname'"
        ) from None


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    file = None if in_memory or database.startswith("file:") else Path(database).expanduser()
    if file is not None:
        require_creatable_path(file)
        try:
            make_private_folders(file.parent)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the folder {file.parent} of the database: {exc.strerror}"
            ) from None
    engine = create_engine(url, **kwargs)

    if file is not None:

        @event.listens_for(engine, "do_connect")
        def _before_connect(*_args: Any) -> None:
            # SQLite would create a missing file 0644 (less the umask): any user of the
            # machine could read every connection and variable. It gives the -wal and -shm
            # files the database's mode. If this fails, SQLite's own open says why.
            with contextlib.suppress(OSError):
                create_private_file(file)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Turn off pysqlite's own BEGIN (it begins lazily, before the first write only);
        # _on_begin below emits ours. COMMIT and ROLLBACK still go through pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        return damage_of(context.original_exception, database)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            begin_immediate(conn)

    return engine


_LOCK_WAIT_FIRST_S = 0.00005
_LOCK_WAIT_MOST_S = 0.002


def begin_immediate(conn: Connection) -> None:
    """``BEGIN IMMEDIATE`` on a SQLite connection, waiting for the write lock in short steps.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries: with the
    scheduler and its workers each writing small transactions, a writer that meets the lock
    would sleep far longer than the lock is held (well under a millisecond). Here the
    connection's busy timeout is off while it takes the lock, and it tries again after 50 us,
    doubling up to 2 ms, for the same 30 s in all; then it fails as SQLite does ("database is
    locked", through SQLAlchemy like any statement). Everything after ``BEGIN`` runs with the
    busy timeout back on.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA busy_timeout = 0")
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        wait = _LOCK_WAIT_FIRST_S
        while time.monotonic() < deadline:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    break  # not the lock: the statement below says what it is
            time.sleep(wait)
            wait = min(wait * 2, _LOCK_WAIT_MOST_S)
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # a last try, its error as any statement's
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()


def require_intact(engine: Engine) -> None:
    """Raise :class:`~headwater.db.errors.DamagedDatabaseError` unless SQLite's
    ``quick_check`` finds the file sound (a no-op on PostgreSQL). Reads every page, so it is
    for ``db check`` and ``db reset``, not for every command."""
    if not is_sqlite(engine):
        return
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        found = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(1)")]
    if found != ["ok"]:
        database = engine.url.database or ""
        # "*** in database main ***\nPage 34: ...": the page is what says something.
        reason = (found[0] if found else "?").replace("*** in database main ***", "")
        raise DamagedDatabaseError(str(Path(database).expanduser()), reason)


def damage_of(exc: BaseException, database: str) -> DamagedDatabaseError | None:
    """The clear error for a SQLite error that means the file is damaged, else None."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    # Extended result codes (SQLITE_CORRUPT_INDEX, ...) keep the primary code in the low byte.
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code not in _DAMAGED_CODES:
        return None
    return DamagedDatabaseError(str(Path(database).expanduser()), str(exc))
