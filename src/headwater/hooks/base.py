"""What every hook is: a client for one external system, configured by a connection id."""

from __future__ import annotations

from typing import Any, ClassVar

from headwater.masking import mask_secret
from headwater.secrets import Connection
from headwater.secrets import get_connection as _lookup_connection


class BaseHook:
    """A hook reads its connection through the secrets backends and the metadata database
    (:func:`headwater.secrets.get_connection`) and hides the connection's password and
    secret-looking ``extra`` fields from logs from then on.

    Subclasses set ``conn_type`` (the connection type they serve), ``hook_name`` (shown to
    people), ``conn_name_attr`` and ``default_conn_name``.
    """

    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""
    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection ``conn_id``; its secrets are masked from now on."""
        connection = _lookup_connection(conn_id)
        if connection.password:
            mask_secret(connection.password)
        if connection.extra:
            mask_secret(connection.extra, name="extra")
        return connection

    def get_conn(self) -> Any:
        """A client (a DB-API connection, an HTTP client...) for the hook's system."""
        raise NotImplementedError(f"{type(self).__name__} does not open connections")

    def test_connection(self) -> tuple[bool, str]:
        """Try to reach the system: (whether it worked, a message saying what happened)."""
        return False, f"{type(self).__name__} cannot test its connection"


def yes_or_no(value: Any) -> bool | None:
    """A yes/no field of a connection's ``extra``: a bool, or its text as a URI's query
    string gives it (``true``, ``0``, ``yes``, ``off``...); None when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    return None
