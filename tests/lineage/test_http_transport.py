"""headwater's own http transport against a real server on 127.0.0.1: one kept-alive
connection for many events, a reconnect when the server closed it, errors that raise (the
emitter drops the event), the API key as a bearer token, and batches: one JSON array to the
batch endpoint, the events a partial success names, a backend without the endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from headwater.lineage.http_transport import (
    BatchEndpointMissing,
    JsonHttpTransport,
    LineageSendError,
)


@dataclass
class Server:
    url: str
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    connections: set[tuple[str, int]] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    status: int = 201
    answer: bytes = b""
    drop_after_answer: bool = False
    """Close the connection after answering, without saying so (as an idle timeout does)."""


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.bodies.append(json.loads(body))
            state.headers.append(dict(self.headers))
            state.connections.add(self.client_address)
            state.paths.append(self.path)
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)
            if state.drop_after_answer:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/base/"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_events_share_one_connection_and_carry_the_api_key(server: Server) -> None:
    transport = JsonHttpTransport(server.url, "api/v1/lineage", api_key="k3y", timeout_s=5)
    for n in range(3):
        transport.emit({"eventType": "START", "n": n})
    transport.close()
    assert [body["n"] for body in server.bodies] == [0, 1, 2]
    assert len(server.connections) == 1
    assert {h["Authorization"] for h in server.headers} == {"Bearer k3y"}
    assert {h["Content-Type"] for h in server.headers} == {"application/json"}
    assert transport.url.endswith("/base/api/v1/lineage")


def test_a_connection_the_server_closed_is_opened_again(server: Server) -> None:
    server.drop_after_answer = True
    transport = JsonHttpTransport(server.url, "api/v1/lineage", api_key="", timeout_s=5)
    for n in range(3):
        transport.emit({"n": n})
    transport.close()
    assert [body["n"] for body in server.bodies] == [0, 1, 2]
    assert len(server.connections) == 3
    assert "Authorization" not in server.headers[0]


def test_an_error_answer_raises_naming_the_url_and_status(server: Server) -> None:
    server.status = 503
    transport = JsonHttpTransport(server.url, "api/v1/lineage", api_key="", timeout_s=5)
    with pytest.raises(LineageSendError, match=r"/base/api/v1/lineage answered 503"):
        transport.emit({"n": 1})
    transport.close()


def test_a_refused_connection_raises() -> None:
    transport = JsonHttpTransport("http://127.0.0.1:9", "x", api_key="", timeout_s=5)
    with pytest.raises(ConnectionRefusedError):
        transport.emit({"n": 1})


def test_a_batch_is_one_json_array_posted_to_the_batch_endpoint(server: Server) -> None:
    server.status = 204
    transport = JsonHttpTransport(server.url, "api/v1/lineage/", api_key="", timeout_s=5)
    refused = transport.emit_batch([{"n": 0}, {"n": 1}, {"n": 2}])
    transport.emit({"n": 3})
    transport.close()
    assert refused == []
    assert server.bodies == [[{"n": 0}, {"n": 1}, {"n": 2}], {"n": 3}]
    assert server.paths == ["/base/api/v1/lineage/batch", "/base/api/v1/lineage/"]
    assert len(server.connections) == 1


def test_a_partial_success_names_the_events_refused(server: Server) -> None:
    server.status = 200
    server.answer = json.dumps(
        {
            "status": "partial_success",
            "summary": {"received": 3, "successful": 1, "failed": 2},
            "failed_events": [{"index": 1, "reason": "Unsupported facets", "retriable": False}],
        }
    ).encode()
    transport = JsonHttpTransport(server.url, "api/v1/lineage", api_key="", timeout_s=5)
    # Two failed by the summary, one of them named: the other is counted without a reason.
    assert transport.emit_batch([{"n": 0}, {"n": 1}, {"n": 2}]) == [
        "Unsupported facets",
        "no reason given",
    ]
    server.answer = (
        b'{"status": "success", "summary": {"received": 2, "successful": 2, "failed": 0}}'
    )
    assert transport.emit_batch([{"n": 3}, {"n": 4}]) == []
    transport.close()


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_backend_without_a_batch_endpoint_says_so_once(server: Server, status: int) -> None:
    server.status = status
    transport = JsonHttpTransport(server.url, "api/v1/lineage", api_key="", timeout_s=5)
    assert transport.batches
    with pytest.raises(
        BatchEndpointMissing, match=rf"/base/api/v1/lineage/batch answered {status}"
    ):
        transport.emit_batch([{"n": 0}, {"n": 1}])
    assert not transport.batches
    server.status = 500
    with pytest.raises(LineageSendError, match="answered 500") as raised:
        transport.emit_batch([{"n": 0}, {"n": 1}])
    assert not isinstance(raised.value, BatchEndpointMissing)
    transport.close()
