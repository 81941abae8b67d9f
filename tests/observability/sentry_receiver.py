"""A Sentry envelope receiver on 127.0.0.1: what sentry-sdk sends to a DSN pointing here.

sentry-sdk posts gzip'd envelopes to ``/api/<project>/envelope/``; the receiver keeps each
one as sent (decompressed bytes, to look for secrets anywhere in them) and its events.
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SentryReceiver:
    """``with SentryReceiver() as sentry:``; ``sentry.dsn``, ``sentry.events``."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                with receiver.received:
                    if self.path.rstrip("/").endswith("/envelope"):
                        receiver.bodies.append(data)
                    receiver.received.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/1"

    def __enter__(self) -> SentryReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The error events received so far."""
        from sentry_sdk.envelope import Envelope

        found = []
        for body in list(self.bodies):
            for item in Envelope.deserialize(body).items:
                if item.type == "event" and item.payload.json is not None:
                    found.append(item.payload.json)
        return found

    def wait_for_events(self, count: int = 1, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Wait (on the receiver's condition, no sleeping) until ``count`` events came."""
        with self.received:
            self.received.wait_for(lambda: len(self.events) >= count, timeout=timeout_s)
        events = self.events
        assert len(events) >= count, f"{len(events)} Sentry event(s) came, not {count}"
        return events
