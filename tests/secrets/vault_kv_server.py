"""A stand-in for HashiCorp Vault's KV version 2 engine, for the tests of the vault backend.

No Vault server can be installed where these tests run, so this real HTTP server on
127.0.0.1 answers the one route ``hvac`` uses to read a secret, the way Vault does:
``GET /v1/<mount>/data/<path>`` with the token in the ``X-Vault-Token`` header, 403 with
``{"errors": ["permission denied"]}`` for another token, 404 with ``{"errors": []}`` for a
secret that does not exist, and ``{"data": {"data": ..., "metadata": ...}}`` for one that
does. It records every request it answered, so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Request:
    path: str
    token: str | None


@dataclass
class VaultKvServer:
    """``with VaultKvServer(token) as vault: vault.put("secret", "connections/db", {...})``."""

    token: str
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        self.secrets[(mount, path)] = data

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> VaultKvServer:
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.headers.get("X-Vault-Token")
                vault.requests.append(Request(self.path, token))
                route = self.path.split("?", 1)[0].removeprefix("/v1/")
                mount, marker, path = route.partition("/data/")
                if token != vault.token:
                    self._answer(403, {"errors": ["permission denied"]})
                elif not marker or (mount, path) not in vault.secrets:
                    self._answer(404, {"errors": []})
                else:
                    metadata = {"version": 1, "deletion_time": "", "destroyed": False}
                    data = {"data": vault.secrets[(mount, path)], "metadata": metadata}
                    self._answer(200, {"data": data})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows what tests assert, not an access log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
