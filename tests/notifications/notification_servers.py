"""Real servers on 127.0.0.1 for the notifier tests: an HTTP receiver that records every
POST (its JSON body and headers) and answers by its path, and an aiosmtpd SMTP server.

Receiver routes:

* ``/ok/...``: 200 ``{"ok": true}`` (what Slack's API answers);
* ``/slack-refuses/...``: 200 ``{"ok": false, "error": "channel_not_found"}``;
* ``/flaky/<key>/<n>/...``: 500 for the first ``n`` requests of ``key``, then 200;
* ``/fail/...``: always 500;
* ``/hang/...``: holds the request until the test ends (or 30 s), then 200.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local_smtp import SmtpServer, running_smtp_server


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never send requests to 127.0.0.1 through a proxy the environment may set."""
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    content_type: str


@dataclass
class ReceiverState:
    posts: list[Received] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hanging: threading.Event = field(default_factory=threading.Event)
    """Set when a request reaches ``/hang``."""
    release: threading.Event = field(default_factory=threading.Event)


class _Receiver(BaseHTTPRequestHandler):
    state: ReceiverState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        content_type = self.headers.get("Content-Type", "")
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        seen = Received(
            self.path, {k.lower(): v for k, v in self.headers.items()}, body, content_type
        )
        with self.state.lock:
            self.state.posts.append(seen)
        parts = self.path.strip("/").split("/")
        if parts[0] == "ok":
            self._answer(200, {"ok": True})
        elif parts[0] == "slack-refuses":
            self._answer(200, {"ok": False, "error": "channel_not_found"})
        elif parts[0] == "flaky":
            key, limit = parts[1], int(parts[2])
            with self.state.lock:
                seen_before = self.state.failures.get(key, 0)
                self.state.failures[key] = seen_before + 1
            if seen_before < limit:
                self._answer(500, {"error": f"failure {seen_before + 1} of {limit}"})
            else:
                self._answer(200, {"ok": True})
        elif parts[0] == "fail":
            self._answer(500, {"error": "the receiver always fails"})
        elif parts[0] == "hang":
            self.state.hanging.set()
            self.state.release.wait(30)
            try:
                self._answer(200, {"ok": True})
            except OSError:
                pass  # the client gave up long ago
        else:
            self._answer(404, {"error": f"no route {self.path}"})


@dataclass
class Receiver:
    url: str
    host: str
    port: int
    state: ReceiverState

    @property
    def posts(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.posts)

    def posts_to(self, prefix: str) -> list[Received]:
        return [post for post in self.posts if post.path.startswith(prefix)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = ReceiverState()
    handler = type("Receiver", (_Receiver,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield Receiver(f"http://127.0.0.1:{port}", "127.0.0.1", port, state)
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(autouse=True)
def quick_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wait between tries (retries are counted, not timed) and a short try timeout."""
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__RETRY_DELAY_S", "0")
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__TIMEOUT_S", "5")
    monkeypatch.setenv("HEADWATER__API__BASE_URL", "https://hw.example.com/")
