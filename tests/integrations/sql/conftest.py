"""Real databases for the SQL hooks and operators: a schema of its own in PostgreSQL, a
database of its own in MariaDB, a SQLite file; each test gets fresh ones, dropped after it.

``db`` runs a test once per kind (``postgres``, ``sqlite``, ``mysql``) and holds the
connection in a ``MemoryStore`` that lookups end at (``use_metastore``), as a task's do:
pass ``db.store`` to ``run_dag``. A database that cannot be reached skips its tests, or
fails them when ``CI`` is set (PostgreSQL's rule is ``postgres_admin_url``'s, in
tests/database_fixtures.py).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from sql_databases import SqlDb
from sqlalchemy.engine import make_url

from headwater.secrets import Connection, use_metastore
from headwater.store.memory import MemoryStore

MYSQL_HOST = os.environ.get("HEADWATER_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("HEADWATER_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("HEADWATER_TEST_MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("HEADWATER_TEST_MYSQL_PASSWORD", "")


def unreachable(reason: str) -> None:
    """Skip the test, or fail it on CI, where every service must be there."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def unique_name() -> str:
    return f"hw_sql_{uuid.uuid4().hex[:12]}"


def postgres_connection(admin_url: str, conn_id: str = "test_pg") -> Connection:
    url = make_url(admin_url)
    return Connection(
        conn_id=conn_id,
        conn_type="postgres",
        host=url.host,
        port=url.port,
        login=url.username,
        password=url.password,
        schema=url.database,
    )


@pytest.fixture
def pg_schema(postgres_admin_url: str) -> Iterator[tuple[Connection, str]]:
    """A PostgreSQL connection and a new schema of the test's own, dropped after it."""
    connection = postgres_connection(postgres_admin_url)
    schema = unique_name()
    kwargs = {
        "host": connection.host,
        "port": connection.port,
        "user": connection.login,
        "password": connection.password,
        "dbname": connection.schema,
    }
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield connection, schema
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _mysql_admin() -> pymysql.connections.Connection:
    return pymysql.connect(
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        user=MYSQL_USER,
        password=MYSQL_PASSWORD,
        connect_timeout=3,
        autocommit=True,
    )


@pytest.fixture(scope="session")
def mariadb_reachable() -> None:
    try:
        _mysql_admin().close()
    except pymysql.err.OperationalError as exc:
        unreachable(f"MariaDB/MySQL is not reachable at {MYSQL_HOST}:{MYSQL_PORT}: {exc}")


@pytest.fixture
def mysql_database(mariadb_reachable: None) -> Iterator[Connection]:
    """A connection to a new MariaDB database of the test's own, dropped after it."""
    name = unique_name()
    admin = _mysql_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        yield Connection(
            conn_id="test_mysql",
            conn_type="mysql",
            host=MYSQL_HOST,
            port=MYSQL_PORT,
            login=MYSQL_USER,
            password=MYSQL_PASSWORD or None,
            schema=name,
        )
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{name}`")
    finally:
        admin.close()


def sqlite_connection(path: Path) -> Connection:
    return Connection(conn_id="test_sqlite", conn_type="sqlite", host=str(path))


def _new_sqlite_file(folder: Path) -> Path:
    """An empty SQLite database file, there like the other kinds' fresh databases."""
    path = folder / "test.db"
    sqlite3.connect(path).close()
    return path


def _sql_db(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SqlDb:
    if kind == "postgres":
        connection, schema = request.getfixturevalue("pg_schema")
        db = SqlDb(kind, connection, MemoryStore(), namespace=schema)
    elif kind == "mysql":
        db = SqlDb(kind, request.getfixturevalue("mysql_database"), MemoryStore())
    else:
        db = SqlDb(kind, sqlite_connection(_new_sqlite_file(tmp_path)), MemoryStore())
    db.store.set_connection(db.connection)
    return db


@pytest.fixture(params=["postgres", "sqlite", "mysql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDb]:
    """A fresh database of each kind, its connection in ``db.store``, looked up through it."""
    sql_db = _sql_db(request.param, request, tmp_path)
    with use_metastore(sql_db.store):
        yield sql_db


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDb]:
    """A fresh PostgreSQL schema, for what only PostgreSQL does (COPY, libpq parameters)."""
    sql_db = _sql_db("postgres", request, tmp_path)
    with use_metastore(sql_db.store):
        yield sql_db


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[SqlDb]:
    """A fresh SQLite file."""
    sql_db = SqlDb("sqlite", sqlite_connection(_new_sqlite_file(tmp_path)), MemoryStore())
    sql_db.store.set_connection(sql_db.connection)
    with use_metastore(sql_db.store):
        yield sql_db
