"""A real OpenLineage HTTP receiver on 127.0.0.1 for the lineage tests: it keeps each event
posted to ``/api/v1/lineage`` (or, in a JSON array, to the batch endpoint
``/api/v1/lineage/batch``, unless ``batches`` is off: then that path answers 404) and checks
it against the OpenLineage run event schema (the parts of spec 2-0-2 and of the facets
headwater sends: required fields, formats, enums). It can also answer 503 a number of times,
hang until the test ends, or refuse some events of a batch (``refuse``: a partial success,
answered with the API's summary)."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jsonschema import Draft202012Validator

from headwater.settings import Settings
from headwater.settings_operations import LineageSettings

_TEXT = {"type": "string", "minLength": 1}
_URI = {"type": "string", "format": "uri", "pattern": "^[a-z][a-z0-9+.-]*:"}
_TIME = {"type": "string", "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_FACET = {
    "type": "object",
    "required": ["_producer", "_schemaURL"],
    "properties": {"_producer": _URI, "_schemaURL": _URI},
}


def _facet(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": [_FACET, {"type": "object", "required": required, "properties": properties}]}


_JOB_REF = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": _TEXT, "name": _TEXT},
}
_RUN_REF = {"type": "object", "required": ["runId"], "properties": {"runId": _UUID}}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {"namespace": _TEXT, "name": _TEXT, "facets": {"type": "object"}},
}

RUN_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "eventTime": _TIME,
        "producer": _URI,
        "schemaURL": _URI,
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {
                "runId": _UUID,
                "facets": {
                    "type": "object",
                    "additionalProperties": _FACET,
                    "properties": {
                        "parent": _facet(["run", "job"], {"run": _RUN_REF, "job": _JOB_REF}),
                        "nominalTime": _facet(
                            ["nominalStartTime"],
                            {"nominalStartTime": _TIME, "nominalEndTime": _TIME},
                        ),
                        "errorMessage": _facet(
                            ["message", "programmingLanguage"],
                            {"message": {"type": "string"}, "programmingLanguage": _TEXT},
                        ),
                    },
                },
            },
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {
                "namespace": _TEXT,
                "name": _TEXT,
                "facets": {
                    "type": "object",
                    "additionalProperties": _FACET,
                    "properties": {
                        "jobType": _facet(
                            ["processingType", "integration"],
                            {
                                "processingType": {"enum": ["BATCH", "STREAMING"]},
                                "integration": _TEXT,
                                "jobType": _TEXT,
                            },
                        )
                    },
                },
            },
        },
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {"type": "array", "items": _DATASET},
    },
}

_VALIDATOR = Draft202012Validator(
    RUN_EVENT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)


def schema_errors(event: dict[str, Any]) -> list[str]:
    """Why ``event`` is not a valid OpenLineage run event (empty when it is)."""
    errors = [f"{list(e.path)}: {e.message}" for e in _VALIDATOR.iter_errors(event)]
    for where, value in _values(event, ("eventTime",), ("run", "runId")):
        try:
            if where == "eventTime":
                assert datetime.fromisoformat(value).tzinfo is not None
            else:
                uuid.UUID(value)
        except (ValueError, AssertionError, TypeError):
            errors.append(f"{where}: {value!r} is not a valid {where}")
    return errors


def _values(event: dict[str, Any], *paths: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for path in paths:
        value: Any = event
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        yield path[-1], value


class LineageReceiver:
    """The receiver's state: events received (in order), their headers, schema errors."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.invalid: list[str] = []
        self.requests: list[tuple[str, int]] = []
        """Each POST's path and how many events it held (0: not taken)."""
        self.batches = True
        self.refuse: Callable[[dict[str, Any]], str | None] = lambda event: None
        """Why an event of a batch is refused (None: taken)."""
        self.failures_left = 0
        self.hang = threading.Event()
        """Set: every request waits (until ``release``) and gets no answer."""
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def of_job(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"]["name"] == name]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(receiver: LineageReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if receiver.hang.is_set():
                receiver.release.wait(30)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = b""
            with receiver.lock:
                if receiver.failures_left > 0:
                    receiver.failures_left -= 1
                    status, events = 503, []
                elif self.path == "/api/v1/lineage":
                    status, events = 200, [json.loads(body)]
                elif self.path == "/api/v1/lineage/batch" and receiver.batches:
                    events = json.loads(body)
                    status, answer = _batch_answer(receiver, events)
                else:
                    status, events = 404, []
                receiver.requests.append((self.path, len(events)))
                for event in events:
                    if receiver.refuse(event) is None or self.path == "/api/v1/lineage":
                        receiver.events.append(event)
                        receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                        receiver.invalid += schema_errors(event)
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            if answer:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

    return Handler


def _batch_answer(receiver: LineageReceiver, events: list[dict[str, Any]]) -> tuple[int, bytes]:
    """204 when every event is taken; else 200 with the API's summary of a partial success."""
    failed = [
        {"index": index, "reason": reason, "retriable": False}
        for index, event in enumerate(events)
        if (reason := receiver.refuse(event)) is not None
    ]
    if not failed:
        return 204, b""
    summary = {
        "received": len(events),
        "successful": len(events) - len(failed),
        "failed": len(failed),
        "retriable": 0,
        "non_retriable": len(failed),
    }
    answer = {"status": "partial_success", "summary": summary, "failed_events": failed}
    return 200, json.dumps(answer).encode()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_lineage(settings: Settings, **values: Any) -> Settings:
    """``settings`` with ``[lineage]`` set to ``values``."""
    return dataclasses.replace(settings, lineage=LineageSettings(**values))
