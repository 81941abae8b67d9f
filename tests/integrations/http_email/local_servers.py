"""Real servers on 127.0.0.1 for the HTTP and email tests: a threaded HTTP test API and an
aiosmtpd SMTP server, each on a free port, and what they received."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local_smtp import Received, SmtpServer, running_smtp_server

__all__ = ["Received", "SmtpServer"]

USER, PASSWORD, TOKEN = "ada", "s3cret-pass", "tok-123456789"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never send requests to 127.0.0.1 through a proxy the environment may set."""
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)


# -- HTTP ------------------------------------------------------------------------------------


@dataclass
class ApiState:
    """What the test API received, and how many more times ``/flaky/<key>`` fails."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Api(BaseHTTPRequestHandler):
    """Routes:

    * ``/echo``: 200, the request as JSON (method, path, query, headers, body);
    * ``/status/<code>``: that status, with a body naming the code (and the password);
    * ``/flaky/<key>``: 503 while ``failures_left[key]`` is above 0, then 200 ``ok``;
    * ``/private``: 200 with basic auth ada/s3cret-pass or bearer tok-123456789, else 401;
    * ``/items?page=n``: page n of 3, ``{"items": [...], "next": n+1 or null}``.
    """

    state: ApiState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        seen = {
            "method": self.command,
            "path": url.path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with self.state.lock:
            self.state.requests.append(seen)
        parts = url.path.strip("/").split("/")
        if parts[0] == "echo":
            self._answer(200, seen)
        elif parts[0] == "status":
            code = int(parts[1])
            self._answer(code, f"failure {code}: password {PASSWORD} {'x' * 2000}".encode())
        elif parts[0] == "flaky":
            with self.state.lock:
                left = self.state.failures_left.get(parts[1], 0)
                self.state.failures_left[parts[1]] = left - 1
            self._answer(503 if left > 0 else 200, {"ok": left <= 0})
        elif parts[0] == "private":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            given = self.headers.get("Authorization")
            ok = given in (expected, f"Bearer {TOKEN}") or self.headers.get("X-Api-Key") == TOKEN
            self._answer(200 if ok else 401, {"authorized": ok})
        elif parts[0] == "items":
            page = int(query.get("page", "1"))
            items = [f"item-{page}-{n}" for n in range(2)]
            self._answer(200, {"items": items, "next": page + 1 if page < 3 else None})
        else:
            self._answer(404, {"error": f"no route {url.path}"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


@dataclass
class HttpApi:
    url: str
    port: int
    state: ApiState


@pytest.fixture
def http_api() -> Iterator[HttpApi]:
    state = ApiState()
    handler = type("Api", (_Api,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield HttpApi(f"http://127.0.0.1:{port}", port, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- SMTP ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 that accepts AUTH (login ada/s3cret-pass) without TLS."""
    with running_smtp_server((USER, PASSWORD)) as server:
        yield server
