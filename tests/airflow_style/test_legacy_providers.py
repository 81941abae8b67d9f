"""Airflow 2's provider operators that newer providers replaced, run unmodified against a real
PostgreSQL and a real HTTP server on 127.0.0.1, each with a warning naming its replacement."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, text
from tests.airflow_style.conftest import AirflowDagTest


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok" if self.path == "/status" else b"missing"
        self.send_response(200 if self.path == "/status" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def status_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_postgres_and_simple_http_operators_run_with_a_warning_each(
    airflow_dags_test: AirflowDagTest, postgres_admin_url: str, status_server: str
) -> None:
    table = f"legacy_rows_{threading.get_native_id()}"
    warehouse = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    done = airflow_dags_test(
        "legacy_providers.py",
        "legacy_providers",
        "--logical-date",
        "2024-05-06T06:00:00+00:00",
        "--conf",
        f'{{"table": "{table}"}}',
        "--conn",
        f"warehouse={warehouse}",
        "--conn",
        f"api={status_server}",
    )
    _drop(postgres_admin_url, table)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "rows=[[1]] status=ok events=0" in output
    assert "timetable is deprecated" in output and "use schedule" in output
    assert "PostgresOperator is deprecated" in output and "SQLExecuteQueryOperator" in output
    assert "SimpleHttpOperator is deprecated" in output and "HttpOperator" in output


def _drop(url: str, table: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()
