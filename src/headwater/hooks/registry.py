"""Which hook serves which connection type: headwater's own and those other packages
declare under the entry point group ``headwater.hooks`` (``conn_type = "module:Class"``).

Hooks are imported only when asked for, so checking a connection's type imports nothing.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.hooks.base import BaseHook

ENTRY_POINT_GROUP = "headwater.hooks"

_BUILT_IN: dict[str, str] = {
    "fs": "headwater.hooks.filesystem:FSHook",
    "generic": "headwater.hooks.base:BaseHook",
    "http": "headwater.hooks.http:HttpHook",
    "https": "headwater.hooks.http:HttpHook",
    "mysql": "headwater.hooks.mysql:MySqlHook",
    "postgres": "headwater.hooks.postgres:PostgresHook",
    "smtp": "headwater.hooks.smtp:SmtpHook",
    "sqlite": "headwater.hooks.sqlite:SqliteHook",
}
"""conn_type -> "module:Class" of headwater's own hooks."""


def known_conn_types() -> dict[str, str]:
    """Every known connection type and the hook that serves it, as "module:Class"."""
    known = dict(_BUILT_IN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        known.setdefault(point.name, point.value)
    return known


def check_conn_type(conn_type: str) -> str:
    """``conn_type``, normalised (``-`` becomes ``_``), if a hook serves it; else an error
    that lists the known types."""
    normalised = conn_type.strip().replace("-", "_")
    known = known_conn_types()
    if normalised not in known:
        raise HeadwaterError(
            f"unknown connection type {conn_type!r}; known types: {', '.join(sorted(known))}"
        )
    return normalised


def hook_class(conn_type: str) -> type[BaseHook]:
    """The hook class that serves ``conn_type``."""
    target = known_conn_types()[check_conn_type(conn_type)]
    module_name, _, class_name = target.partition(":")
    hook: type[BaseHook] = getattr(importlib.import_module(module_name), class_name)
    return hook
