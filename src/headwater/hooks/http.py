"""HttpHook: HTTP requests to the service a connection describes, on httpx.

The connection gives the base URL (``schema`` ``http`` or ``https``, ``host``, ``port``; a
``host`` that is already a URL is taken as it is), basic auth (``login``/``password``) and,
in ``extra``: ``headers`` (a dict, or JSON text), ``token`` (sent as ``Authorization: Bearer
<token>``, or raw under ``token_header``), ``timeout`` (seconds) and ``verify`` (TLS
certificates; default true). Requests are retried, a bounded number of times with a doubling
delay, on connection errors and on the status codes the hook is told to retry; a 4xx/5xx
answer then raises :class:`HttpResponseError` naming the status and the start of the body,
secrets masked.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import httpx

from headwater.exceptions import HeadwaterError
from headwater.hooks.base import BaseHook, yes_or_no
from headwater.masking import mask_secret, redact_text
from headwater.secrets import Connection

# Under the task logger: a retry is worth a line in the attempt's log (headwater's internal
# loggers stay out of task logs); outside an attempt it reaches stderr as a warning.
log = logging.getLogger("headwater.task.http")

DEFAULT_RETRY_ON_STATUS = (429, 500, 502, 503, 504)
"""Answers worth asking again: rate limiting and the server's passing troubles."""

MAX_RETRY_LIMIT = 10
MAX_RETRY_DELAY_S = 300.0
"""Longest wait between two tries, however many tries came before."""
MAX_TIMEOUT_S = 3600.0
BODY_IN_ERRORS = 500
"""Characters of a failing answer's body shown in its error: enough to read the server's
message, not a whole HTML page in the task log."""

EXTRA_KEYS = ("headers", "token", "token_header", "timeout", "verify")
REQUEST_OPTIONS = ("timeout", "follow_redirects", "check_response")
"""What ``extra_options`` of :meth:`HttpHook.run` may set for one request."""

_BODYLESS = ("GET", "HEAD", "DELETE", "OPTIONS")
"""Methods whose ``data`` goes into the query string, not the body."""


class HttpHookError(HeadwaterError):
    """An HTTP connection or request is set up wrongly, or the server cannot be reached."""


class HttpResponseError(HttpHookError):
    """The server answered with a 4xx or 5xx status."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code


class HttpHook(BaseHook):
    """Send HTTP requests to the service of connection ``http_conn_id``.

    Example::

        hook = HttpHook(method="GET", http_conn_id="weather_api", retry_limit=3)
        forecast = hook.run("v1/forecast", data={"city": "Lyon"}).json()

    ``retry_limit`` more tries (0 to 10) follow a connection error or an answer whose status
    is in ``retry_on_status``, after ``retry_delay`` seconds doubled each time (capped at
    300 s). ``timeout`` (seconds) overrides the connection's ``extra`` ``timeout`` (30 s by
    default). With ``check_response=False`` a 4xx/5xx answer is returned, not raised.
    """

    conn_type: ClassVar[str] = "http"
    hook_name: ClassVar[str] = "HTTP"
    conn_name_attr: ClassVar[str] = "http_conn_id"
    default_conn_name: ClassVar[str] = "http_default"

    def __init__(
        self,
        method: str = "POST",
        http_conn_id: str = "http_default",
        *,
        retry_limit: int = 0,
        retry_delay: float = 1.0,
        retry_on_status: Iterable[int] = DEFAULT_RETRY_ON_STATUS,
        timeout: float | None = None,
        check_response: bool = True,
    ) -> None:
        self.method = _check_method(method)
        self.http_conn_id = http_conn_id
        self.retry_limit = _check_int(retry_limit, "retry_limit", 0, MAX_RETRY_LIMIT)
        self.retry_delay = _check_seconds(retry_delay, "retry_delay", 0.0, MAX_RETRY_DELAY_S)
        self.retry_on_status = frozenset(_check_statuses(retry_on_status))
        self.timeout = (
            None if timeout is None else _check_seconds(timeout, "timeout", 0.001, MAX_TIMEOUT_S)
        )
        self.check_response = check_response
        self._settings: _ClientSettings | None = None

    # -- the connection ----------------------------------------------------------------------

    def client_settings(self) -> _ClientSettings:
        """Base URL, headers, auth, timeout and TLS checking from the connection (read once)."""
        if self._settings is None:
            self._settings = _ClientSettings.from_connection(
                self.get_connection(self.http_conn_id), self.timeout
            )
        return self._settings

    def get_conn(self, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """An httpx client for the connection's service (close it, or use ``with``)."""
        settings = self.client_settings()
        return httpx.Client(
            base_url=settings.base_url,
            headers={**settings.headers, **(headers or {})},
            auth=settings.auth,
            timeout=settings.timeout,
            verify=settings.verify,
        )

    def url_for(self, endpoint: str) -> str:
        """The URL of ``endpoint``: itself when it is a whole URL (a next-page link), else
        the connection's base URL joined with it."""
        if endpoint.startswith(("http://", "https://")):
            return endpoint
        base = self.client_settings().base_url.rstrip("/")
        return f"{base}/{endpoint.lstrip('/')}" if endpoint else base

    # -- requests ----------------------------------------------------------------------------

    def run(
        self,
        endpoint: str = "",
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        extra_options: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request (retried as the hook says) and return the answer.

        ``data`` is the query string of a GET, HEAD, DELETE or OPTIONS request (a dict) and
        the body of the others (a dict is sent as a form, text or bytes as they are); ``json``
        is a JSON body. ``extra_options`` may set ``timeout``, ``follow_redirects`` and
        ``check_response`` for this request only.
        """
        options = _check_options(extra_options)
        check = bool(options.pop("check_response", self.check_response))
        request: dict[str, Any] = {"params": dict(params or {})}
        if self.method in _BODYLESS:
            if data is not None and not isinstance(data, Mapping):
                raise HttpHookError(
                    f"data of a {self.method} request goes into the query string, so it must "
                    f"be a dict, got {type(data).__name__}"
                )
            request["params"].update(data or {})
        elif isinstance(data, Mapping):
            request["data"] = dict(data)
        elif data is not None:
            request["content"] = data
        if json is not None:
            request["json"] = json
        if not request["params"]:
            del request["params"]
        if "timeout" in options:
            options["timeout"] = _check_seconds(
                options["timeout"], "extra_options timeout", 0.001, MAX_TIMEOUT_S
            )
        url = self.url_for(endpoint)
        with self.get_conn(headers) as client:
            response = self._send_with_retries(client, url, {**request, **options})
        if check:
            raise_for_status(response)
        return response

    def _send_with_retries(
        self, client: httpx.Client, url: str, request: dict[str, Any]
    ) -> httpx.Response:
        tries = 1 + self.retry_limit
        for number in range(1, tries + 1):
            try:
                response = client.request(self.method, url, **request)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if number == tries:
                    raise HttpHookError(
                        redact_text(
                            f"{self.method} {url} failed after {tries} tr"
                            f"{'y' if tries == 1 else 'ies'}: {problem}"
                        )
                    ) from exc
            else:
                if response.status_code not in self.retry_on_status or number == tries:
                    return response
                problem = f"status {response.status_code}"
            delay = min(self.retry_delay * 2 ** (number - 1), MAX_RETRY_DELAY_S)
            log.warning(
                "%s %s: %s; trying again in %g s (try %d of %d)",
                self.method,
                redact_text(url),
                redact_text(problem),
                delay,
                number + 1,
                tries,
            )
            if delay:
                time.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    def test_connection(self) -> tuple[bool, str]:
        """Send a GET to the connection's base URL: any answer below 400 means it works."""
        try:
            settings = self.client_settings()
            with self.get_conn() as client:
                response = client.get(settings.base_url)
        except (HeadwaterError, httpx.HTTPError) as exc:
            return False, redact_text(f"{type(exc).__name__}: {exc}")
        answer = f"{response.status_code} {response.reason_phrase}"
        return response.status_code < 400, f"GET {settings.base_url} answered {answer}"


def raise_for_status(response: httpx.Response) -> None:
    """Raise :class:`HttpResponseError` for a 4xx or 5xx answer, naming the method, URL,
    status and the start of the body (secrets masked)."""
    if response.status_code < 400:
        return
    request = response.request
    # Masked before it is cut, so a cut cannot leave half a secret showing.
    body = redact_text(response.text)
    if len(body) > BODY_IN_ERRORS:
        body = body[:BODY_IN_ERRORS] + f"... ({len(body) - BODY_IN_ERRORS} more characters)"
    message = (
        f"{request.method} {request.url} answered {response.status_code} "
        f"{response.reason_phrase}: {body or '(empty body)'}"
    )
    raise HttpResponseError(redact_text(message), response)


class _ClientSettings:
    """What a client needs from an HTTP connection, checked: each bad field is named."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
        timeout: float,
        verify: bool,
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.auth = auth
        self.timeout = timeout
        self.verify = verify

    @classmethod
    def from_connection(cls, conn: Connection, timeout: float | None) -> _ClientSettings:
        where = f"connection {conn.conn_id!r}"
        extra = dict(conn.extra or {})
        unknown = sorted(set(extra) - set(EXTRA_KEYS))
        if unknown:
            raise HttpHookError(
                f"{where}: unknown extra field(s) {', '.join(map(repr, unknown))}; an HTTP "
                f"connection's extra takes {', '.join(EXTRA_KEYS)}"
            )
        headers = _extra_headers(extra.get("headers"), where)
        token = extra.get("token")
        if token:
            mask_secret(str(token))
            header = str(extra.get("token_header") or "Authorization")
            headers[header] = f"Bearer {token}" if header.lower() == "authorization" else str(token)
        auth = (conn.login, conn.password or "") if conn.login else None
        if timeout is None:
            timeout = _check_seconds(
                extra.get("timeout", 30.0), f"{where}: extra timeout", 0.001, MAX_TIMEOUT_S
            )
        verify = _flag(extra.get("verify", True), f"{where}: extra verify")
        return cls(_base_url(conn, where), headers, auth, timeout, verify)


def _base_url(conn: Connection, where: str) -> str:
    host = (conn.host or "").strip()
    if not host:
        raise HttpHookError(f"{where}: host is empty; set it to the service's host name")
    if "://" in host:
        scheme = host.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise HttpHookError(f"{where}: host {host!r} must start with http:// or https://")
        return host.rstrip("/")
    scheme = (conn.schema or "").strip().lower()
    if not scheme:
        scheme = "https" if conn.conn_type == "https" else "http"
    if scheme not in ("http", "https"):
        raise HttpHookError(f"{where}: schema {conn.schema!r} must be 'http' or 'https'")
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{host}{port}"


def _extra_headers(value: Any, where: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise HttpHookError(f"{where}: extra headers is not valid JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise HttpHookError(
            f"{where}: extra headers must be an object of header names to values, "
            f"got {type(value).__name__}"
        )
    headers = {str(k): str(v) for k, v in value.items()}
    mask_secret(headers, name="headers")
    return headers


def _flag(value: Any, what: str) -> bool:
    flag = yes_or_no(value)
    if flag is None:
        raise HttpHookError(f"{what} must be true or false, got {value!r}")
    return flag


def _check_method(method: str) -> str:
    known = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    upper = str(method).upper()
    if upper not in known:
        raise HttpHookError(f"method {method!r} is not one of {', '.join(known)}")
    return upper


def _check_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HttpHookError(f"{what} must be an int from {low} to {high}, got {value!r}")
    return value


def _check_seconds(value: Any, what: str, low: float, high: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not low <= seconds <= high:
        raise HttpHookError(
            f"{what} must be a number of seconds from {low:g} to {high:g}, got {value!r}"
        )
    return seconds


def _check_statuses(codes: Iterable[int]) -> list[int]:
    statuses = list(codes)
    for code in statuses:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise HttpHookError(f"retry_on_status must hold HTTP status codes, got {code!r}")
    return statuses


def _check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(options or {})
    unknown = sorted(set(given) - set(REQUEST_OPTIONS))
    if unknown:
        raise HttpHookError(
            f"unknown extra_options {', '.join(map(repr, unknown))}; "
            f"they may set {', '.join(REQUEST_OPTIONS)}"
        )
    return given
