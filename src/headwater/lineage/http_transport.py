"""The ``http`` transport: each event POSTed as JSON on one kept-alive connection.

The OpenLineage client's own HTTP transport costs about 1.3 ms of CPU per event (its
serializer and ``requests``, which reads the proxy settings of the environment on every
request); a worker sends two events per task, which made a no-op task 2.5 times as
expensive (``benchmarks/operations_overhead.py``). The standard library's ``http.client``
on a connection kept open between events costs a tenth of that. The events are the plain
JSON objects :mod:`~headwater.lineage.events` builds, so nothing else is needed.

What it sends is what the client's transport sends: ``POST <url>/<endpoint>`` with
``Content-Type: application/json`` and, with an API key, ``Authorization: Bearer <key>``,
each request within ``timeout_s``. An answer of 400 or more, a refused connection or a
timeout raises, and the emitter drops the event (:mod:`~headwater.lineage.emitter`). A
kept-alive connection that the server closed meanwhile is opened again once.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from headwater.exceptions import HeadwaterError

__all__ = ["JsonHttpTransport", "LineageSendError"]


class LineageSendError(HeadwaterError):
    """The lineage backend refused an event (it answered an error status)."""


class JsonHttpTransport:
    """POSTs events to one URL; not thread-safe (the emitter's one thread uses it)."""

    def __init__(self, url: str, endpoint: str, *, api_key: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"[lineage] url must be http(s)://host[:port][/path], got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self.path = f"{parts.path.rstrip('/')}/{endpoint.lstrip('/')}"
        self.url = f"{parts.scheme}://{parts.netloc}{self.path}"
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def emit(self, event: Any) -> None:
        """POST ``event``: a JSON object, or one of the client's event classes."""
        if not isinstance(event, dict):
            from openlineage.client.serde import Serde

            event = Serde.to_dict(event)
        body = json.dumps(event, separators=(",", ":"), allow_nan=False).encode()
        reused = self._connection is not None
        try:
            status, reason = self._post(body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
            status, reason = self._post(body)  # the server closed an idle connection
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if status >= 400:
            raise LineageSendError(f"{self.url} answered {status} {reason}")

    def close(self, timeout: float | None = None) -> None:
        """Close the connection (``timeout``: unused, there is nothing to wait for)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _post(self, body: bytes) -> tuple[int, str]:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout_s)
        connection = self._connection
        connection.request("POST", self.path, body, self._headers)
        response = connection.getresponse()
        response.read()
        if response.will_close:
            self.close()
        return response.status, response.reason
