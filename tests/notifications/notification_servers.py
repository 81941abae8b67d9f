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

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


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


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, self.message.as_string()[:500]
        text: str = part.get_content()
        return text.replace("\r\n", "\n")


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[Mail]


class _Handler:
    def __init__(self, received: list[Mail]) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    received: list[Mail] = []
    controller = Controller(_Handler(received), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, received)
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def quick_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wait between tries (retries are counted, not timed) and a short try timeout."""
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__RETRY_DELAY_S", "0")
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__TIMEOUT_S", "5")
    monkeypatch.setenv("HEADWATER__API__BASE_URL", "https://hw.example.com/")
