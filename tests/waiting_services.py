"""Real services the sensor and trigger tests wait on (tests/sensors, tests/triggers): a
scripted HTTP API on 127.0.0.1, and a fresh SQL database (a SQLite file, a PostgreSQL
schema) whose connection lookups find.

``scripted_api.script(path, answers)`` sets what ``path`` answers: each request takes the
next ``(status, body)``, the last one repeats, so a test says "404, then running, then done"
without waiting on a clock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy.engine import make_url

from headwater.hooks.sql import DbApiHook, get_db_hook
from headwater.secrets import Connection, use_metastore
from headwater.store.memory import MemoryStore

Answer = tuple[int, Any]


@dataclass
class ScriptedApi:
    """The server's URL and port, what it answers, and the paths it was asked for."""

    url: str = ""
    port: int = 0
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, answers: list[Answer]) -> None:
        with self.lock:
            self.answers[path] = list(answers)

    def next_answer(self, path: str) -> Answer:
        with self.lock:
            self.asked.append(path)
            queue = self.answers.get(path)
            if not queue:
                return 404, {"error": f"no route {path}"}
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def connection(self, conn_id: str = "api") -> Connection:
        return Connection(conn_id, "http", host="127.0.0.1", port=self.port)


class _Handler(BaseHTTPRequestHandler):
    api: ScriptedApi

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        status, body = self.api.next_answer(urlsplit(self.path).path)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


@pytest.fixture
def scripted_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedApi]:
    for scheme in ("http", "https", "all"):  # never through a proxy to 127.0.0.1
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    api = ScriptedApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (_Handler,), {"api": api}))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    api.port = server.server_address[1]
    api.url = f"http://127.0.0.1:{api.port}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class WaitDb:
    """A fresh database: its kind, its connection (``conn_id`` "db") in ``store``, the
    driver's placeholder, and the prefix of its tables (a PostgreSQL schema)."""

    kind: str
    connection: Connection
    store: MemoryStore
    prefix: str = ""

    @property
    def placeholder(self) -> str:
        return "?" if self.kind == "sqlite" else "%s"

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def hook(self) -> DbApiHook:
        return get_db_hook(self.connection.conn_id)

    def run(self, sql: str) -> None:
        self.hook().run(sql, split_statements=True)


@pytest.fixture(params=["sqlite", "postgres"])
def wait_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WaitDb]:
    """A fresh SQLite file, then a fresh PostgreSQL schema (skipped when PostgreSQL is not
    reachable, failed on CI); lookups find its connection within the test."""
    store = MemoryStore()
    if request.param == "sqlite":
        path = tmp_path / "wait.db"
        sqlite3.connect(path).close()
        db = WaitDb("sqlite", Connection("db", "sqlite", host=str(path)), store)
        store.set_connection(db.connection)
        with use_metastore(store):
            yield db
        return
    url = make_url(request.getfixturevalue("postgres_admin_url"))
    connection = Connection(
        "db",
        "postgres",
        host=url.host,
        port=url.port,
        login=url.username,
        password=url.password,
        schema=url.database,
    )
    schema = f"hw_wait_{uuid.uuid4().hex[:12]}"
    admin = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    store.set_connection(connection)
    try:
        with use_metastore(store):
            yield WaitDb("postgres", connection, store, prefix=f"{schema}.")
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
