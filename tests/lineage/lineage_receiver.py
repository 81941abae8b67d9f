"""A real OpenLineage HTTP receiver on 127.0.0.1 for the lineage tests: it keeps each event
posted to ``/api/v1/lineage`` and checks it against the OpenLineage run event schema (the
parts of spec 2-0-2 and of the facets headwater sends: required fields, formats, enums).
It can also answer 503 a number of times, or hang until the test ends."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import uuid
from collections.abc import Iterator
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
            with receiver.lock:
                if receiver.failures_left > 0:
                    receiver.failures_left -= 1
                    status = 503
                else:
                    status = 200 if self.path == "/api/v1/lineage" else 404
                    if status == 200:
                        event = json.loads(body)
                        receiver.events.append(event)
                        receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                        receiver.invalid += schema_errors(event)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_lineage(settings: Settings, **values: Any) -> Settings:
    """``settings`` with ``[lineage]`` set to ``values``."""
    return dataclasses.replace(settings, lineage=LineageSettings(**values))
