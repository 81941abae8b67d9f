"""The ``http`` transport: each event POSTed as JSON on one kept-alive connection.

The OpenLineage client's own HTTP transport costs about 1.3 ms of CPU per event (its
serializer and ``requests``, which reads the proxy settings of the environment on every
request); a worker sends two events per task, which made a no-op task 2.5 times as
expensive (``benchmarks/operations_overhead.py``). The standard library's ``http.client``
on a connection kept open between events costs a tenth of that. The events are what
:mod:`~headwater.lineage.events` builds, JSON text or plain JSON objects, so nothing else is
needed.

What it sends is what the client's transport sends: ``POST <url>/<endpoint>`` with
``Content-Type: application/json`` and, with an API key, ``Authorization: Bearer <key>``,
each request within ``timeout_s``. An answer of 400 or more, a refused connection or a
timeout raises, and the emitter drops the event (:mod:`~headwater.lineage.emitter`). A
kept-alive connection that the server closed meanwhile is opened again once.

:meth:`JsonHttpTransport.emit_batch` sends several events in one request, as the
OpenLineage API's optional batch endpoint takes them (``POST <url>/<endpoint>/batch``, a
JSON array, since spec 2-0-2's API of 2025-11): the answer is 204, or 200 with a summary
whose ``failed_events`` name the events the backend refused (a partial success). A backend
that has no such endpoint answers 404, 405 or 501: that raises
:class:`BatchEndpointMissing`, and the transport remembers it (``batches`` turns false), so
the emitter sends that batch and every later event one by one.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from headwater.exceptions import HeadwaterError
from headwater.lineage.events import EncodedEvent

__all__ = ["BatchEndpointMissing", "JsonHttpTransport", "LineageSendError"]

NO_BATCH_ENDPOINT = frozenset({404, 405, 501})
"""Answers that say the backend has no batch endpoint (the API's advice: send singly)."""


class LineageSendError(HeadwaterError):
    """The lineage backend refused an event (it answered an error status)."""


class BatchEndpointMissing(LineageSendError):
    """The backend has no batch endpoint; nothing of the batch was taken."""


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
        self.batch_path = f"{self.path.rstrip('/')}/batch"
        self.batches = True
        """Whether the backend may have a batch endpoint (false once it said it has none)."""
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def emit(self, event: Any) -> None:
        """POST ``event``: an :class:`~headwater.lineage.events.EncodedEvent`, a JSON object,
        or one of the client's event classes."""
        status, reason, _ = self._send(self.path, _json(event))
        if status >= 400:
            raise LineageSendError(f"{self.url} answered {status} {reason}")

    def emit_batch(self, events: Sequence[Any]) -> list[str]:
        """POST ``events`` as one JSON array to the batch endpoint; why the backend refused
        each event it did not take (empty: it took them all). Raises
        :class:`BatchEndpointMissing` when the backend has none (and sets ``batches``)."""
        body = b"[" + b",".join(_json(event) for event in events) + b"]"
        status, reason, answer = self._send(self.batch_path, body)
        if status in NO_BATCH_ENDPOINT:
            self.batches = False
            raise BatchEndpointMissing(f"{self.url}/batch answered {status} {reason}")
        if status >= 400:
            raise LineageSendError(f"{self.url}/batch answered {status} {reason}")
        return _refusals(answer, len(events)) if status == 200 else []

    def close(self, timeout: float | None = None) -> None:
        """Close the connection (``timeout``: unused, there is nothing to wait for)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _send(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        reused = self._connection is not None
        try:
            return self._post(path, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
            return self._post(path, body)  # the server closed an idle connection
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def _post(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout_s)
        connection = self._connection
        connection.request("POST", path, body, self._headers)
        response = connection.getresponse()
        answer = response.read(_MAX_ANSWER + 1)
        if response.will_close or len(answer) > _MAX_ANSWER:
            self.close()
        return response.status, response.reason, answer


_MAX_ANSWER = 1 << 20
"""Bytes of an answer read, at most (a batch's summary is far smaller)."""


def _json(event: Any) -> bytes:
    if isinstance(event, EncodedEvent):
        return event.text.encode()
    if not isinstance(event, dict):
        from openlineage.client.serde import Serde

        event = Serde.to_dict(event)
    return json.dumps(event, separators=(",", ":"), allow_nan=False).encode()


def _refusals(answer: bytes, sent: int) -> list[str]:
    """The reasons of the events a batch's 200 answer says failed (its ``failed_events``,
    or as many unnamed ones as its summary counts); none when the answer says nothing."""
    try:
        details = json.loads(answer) if answer.strip() else {}
        failed = details.get("failed_events") or []
        reasons = [str(item.get("reason") or "no reason given") for item in failed]
        counted = int((details.get("summary") or {}).get("failed") or 0)
    except (ValueError, TypeError, AttributeError):
        return []  # an answer that is not the API's summary: 200 says the batch was received
    reasons += ["no reason given"] * (counted - len(reasons))
    return reasons[:sent]
