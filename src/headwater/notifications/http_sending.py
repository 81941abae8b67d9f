"""What the HTTP notifiers share: URLs from connections, and one JSON POST through httpx
with the notification timeout, whose failure says what the server answered."""

from __future__ import annotations

from typing import Any

from headwater.masking import mask_secret, redact_text
from headwater.notifications.base import NotificationError
from headwater.secrets import Connection

MAX_ERROR_BODY_CHARS = 300


def lookup_connection(conn_id: str) -> Connection:
    """The connection ``conn_id`` (secrets backends, then the metadata database), its
    password and extra masked from now on; a missing one is a :class:`NotificationError`."""
    from headwater.secrets import get_connection

    try:
        conn = get_connection(conn_id)
    except Exception as exc:
        raise NotificationError(str(exc)) from exc
    if conn.password:
        mask_secret(conn.password)
    if conn.extra:
        mask_secret(conn.extra, name="extra")
    return conn


def connection_base_url(conn: Connection, default_host: str = "") -> str:
    """``host`` as a URL: kept as is when it has a scheme, else ``https://`` (``schema`` may
    say ``http``) with the port; ``default_host`` when the connection has no host."""
    host = (conn.host or default_host).strip()
    if not host:
        raise NotificationError(f"connection {conn.conn_id!r}: host is empty")
    if "://" in host:
        scheme = host.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise NotificationError(
                f"connection {conn.conn_id!r}: host {host!r} must start with http:// or https://"
            )
        return host.rstrip("/")
    scheme = (conn.schema or "https").strip().lower()
    if scheme not in ("http", "https"):
        raise NotificationError(
            f"connection {conn.conn_id!r}: schema {conn.schema!r} must be 'http' or 'https'"
        )
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{host}{port}"


def post_json(
    url: str,
    body: Any,
    *,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST ``body`` as JSON; the answer's JSON (or text). A status of 400 or more, or no
    answer within ``timeout_s``, raises with what happened (secrets masked)."""
    import httpx

    try:
        response = httpx.post(url, json=body, headers=headers or {}, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise NotificationError(
            redact_text(f"POST {url}: no answer within {timeout_s:g} s ({type(exc).__name__})")
        ) from exc
    except httpx.HTTPError as exc:
        raise NotificationError(redact_text(f"POST {url}: {type(exc).__name__}: {exc}")) from exc
    if response.status_code >= 400:
        text = " ".join(response.text.split())[:MAX_ERROR_BODY_CHARS]
        raise NotificationError(
            redact_text(f"POST {url} answered {response.status_code}: {text or '(empty)'}")
        )
    try:
        return response.json()
    except ValueError:
        return response.text
