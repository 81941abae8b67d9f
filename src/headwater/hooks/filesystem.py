"""A folder on the local file system as a connection (``conn_type`` ``fs``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from headwater.exceptions import HeadwaterError
from headwater.hooks.base import BaseHook


class FSHook(BaseHook):
    """The base folder a connection names: its ``extra`` ``path`` (Airflow's field), else
    its ``host``. ``get_path()`` is that folder; ``resolve(name)`` a file under it.

    Example: ``headwater connections add landing --conn-type fs --conn-extra
    '{"path": "/data/landing"}'``; then ``FSHook("landing").resolve("orders.csv")``.
    """

    conn_type: ClassVar[str] = "fs"
    hook_name: ClassVar[str] = "File (path)"
    conn_name_attr: ClassVar[str] = "fs_conn_id"
    default_conn_name: ClassVar[str] = "fs_default"

    def __init__(self, fs_conn_id: str = default_conn_name) -> None:
        self.fs_conn_id = fs_conn_id

    def get_path(self) -> Path:
        """The connection's base folder (not checked: it may not exist yet)."""
        connection = self.get_connection(self.fs_conn_id)
        path = connection.extra.get("path") or connection.host or ""
        if not isinstance(path, str) or not path:
            raise HeadwaterError(
                f"connection {self.fs_conn_id!r} (type fs) names no folder: set its extra "
                '{"path": "/some/folder"}'
            )
        return Path(path).expanduser()

    def get_conn(self) -> Path:
        return self.get_path()

    def resolve(self, name: str) -> Path:
        """``name`` under the base folder; a name that leaves the folder (``..``, an
        absolute path) is an error."""
        base = self.get_path().resolve()
        target = (base / name).resolve()
        if not target.is_relative_to(base):
            raise HeadwaterError(
                f"{name!r} is outside the folder {base} of connection {self.fs_conn_id!r}"
            )
        return target

    def test_connection(self) -> tuple[bool, str]:
        try:
            path = self.get_path()
        except HeadwaterError as exc:
            return False, str(exc)
        if not path.is_dir():
            return False, f"{path} is not a folder"
        return True, f"{path} is a folder"
