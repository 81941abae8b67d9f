"""Databases for the SQL store's tests: a fresh, migrated SQLite file or PostgreSQL database.

* ``db_url`` (params ``sqlite``, ``postgresql``): the URL of an empty, migrated database
  holding only ``default_pool``. SQLite: a copy of a file migrated once per session, under
  the test's ``tmp_path``. PostgreSQL: one database per xdist worker
  (``headwater_test_gw0``, created if missing), migrated once per session and emptied
  before each test.
* ``sql_store``: a :class:`SqlStore` on ``db_url`` whose clock is the test's ``clock``.
* ``any_store`` (params ``memory``, ``sqlite``, ``postgresql``): for the contract that
  ``MemoryStore`` and ``SqlStore`` share (``tests/contract``).
* ``scratch_db_url`` (params ``sqlite``, ``postgresql``): an empty database with no schema at
  all, for migration tests.

PostgreSQL is at 127.0.0.1:5432 (user postgres, trust auth); ``HEADWATER_TEST_POSTGRES_URL``
points elsewhere (a URL of an existing database the tests may create databases from). When
it cannot be reached the PostgreSQL tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from headwater.clock import FakeClock
from headwater.db.engine import create_db_engine
from headwater.db.migrate import upgrade
from headwater.db.models import (
    DEFAULT_POOL,
    DEFAULT_POOL_DESCRIPTION,
    DEFAULT_POOL_SLOTS,
    Base,
)
from headwater.store.memory import MemoryStore
from headwater.store.ports import Store
from headwater.store.sql import SqlStore

POSTGRES_ADMIN_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# Unique per test session, so sessions running at once (two checkouts, CI) never share one.
_SESSION = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"p{os.getpid()}")[:10]
_created: list[str] = []


def worker_database(suffix: str = "") -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"headwater_test_{_SESSION}_{worker}{suffix}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The admin URL, once PostgreSQL answered; skips (fails on CI) when it does not.

    The databases this session created are dropped when it ends.
    """
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN_URL)!r}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()
    yield POSTGRES_ADMIN_URL
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in _created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def fresh_postgres_database(admin_url: str, name: str) -> str:
    """Create database ``name`` if missing and empty its public schema; returns its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                _created.append(name)
    finally:
        admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


def migrated_postgres_database(admin_url: str, name: str) -> str:
    """:func:`fresh_postgres_database`, migrated: new tables, never analyzed."""
    url = fresh_postgres_database(admin_url, name)
    engine = create_db_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_migrated_url(postgres_admin_url: str) -> str:
    """This worker's database, migrated from scratch once per session."""
    return migrated_postgres_database(postgres_admin_url, worker_database())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "headwater.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection to close folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _empty_postgres(url: str) -> None:
    """Remove every row and put ``default_pool`` back, in one transaction.

    ``DELETE`` of each table (children first) and a restart of each sequence: on tables of a
    few rows this is a tenth of what ``TRUNCATE`` costs (which makes new files for every
    table and index), paid by each of the suite's PostgreSQL tests."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_emptying_script(conn))
            conn.execute(
                text("INSERT INTO pools (name, slots, description) VALUES (:n, :s, :d)"),
                {"n": DEFAULT_POOL, "s": DEFAULT_POOL_SLOTS, "d": DEFAULT_POOL_DESCRIPTION},
            )
    finally:
        engine.dispose()


_emptying: list[str] = []


def _emptying_script(conn: Connection) -> str:
    """The statements that empty every table and restart every sequence (read once)."""
    if not _emptying:
        sequences = conn.execute(
            text(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = 'public'"
            )
        ).scalars()
        deletes = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
        restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        _emptying.append("; ".join(deletes + restarts))
    return _emptying[0]


def _prepare(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "db" / "headwater.db"
        path.parent.mkdir()
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated_url")
    _empty_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database (only ``default_pool`` in it)."""
    return _prepare(request.param, request, tmp_path)


@pytest.fixture
def sql_store(db_url: str, clock: FakeClock) -> Iterator[SqlStore]:
    with SqlStore.from_url(db_url, clock=clock) as store:
        yield store


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A store of each kind, empty but for ``default_pool``, on the test's ``clock``."""
    if request.param == "memory":
        yield MemoryStore(clock=clock)
        return
    with SqlStore.from_url(_prepare(request.param, request, tmp_path), clock=clock) as store:
        yield store


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a database with no tables at all (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scratch' / 'headwater.db'}"
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    return fresh_postgres_database(admin_url, worker_database("_scratch"))


def _revisions() -> list[str]:
    from headwater.db import migrate

    versions = Path(migrate.MIGRATIONS_DIR) / "versions"
    return sorted(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


REVISIONS = _revisions()
"""Every migration's revision id, oldest first (``0001``, ``0002``, ...)."""
HEAD = REVISIONS[-1]
