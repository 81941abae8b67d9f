"""A connection: where and how to reach an external system (``conn.<id>`` in templates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit


@dataclass
class Connection:
    """Where and how to reach an external system; ``conn.<id>`` in templates."""

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """``postgresql://user:pw@host:5432/db?sslmode=require`` -> Connection."""
        from urllib.parse import parse_qsl

        parts = urlsplit(uri)
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme.replace("-", "_"),
            host=unquote(parts.hostname) if parts.hostname else None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(parts.path.lstrip("/")) or None,
            port=parts.port,
            extra=dict(parse_qsl(parts.query)),
        )

    def get_uri(self) -> str:
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        path = f"/{quote(self.schema)}" if self.schema else ""
        return f"{self.conn_type}://{auth}{self.host or ''}{port}{path}"
