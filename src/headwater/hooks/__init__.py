"""Hooks: clients for external systems, each configured by a connection id
(docs/integrations.md). Each hook is imported on first use: a DAG file that names none
loads no database driver or HTTP client."""

from typing import TYPE_CHECKING, Any

from headwater.hooks.base import BaseHook

if TYPE_CHECKING:
    from headwater.hooks.filesystem import FSHook
    from headwater.hooks.http import HttpHook
    from headwater.hooks.mysql import MySqlHook
    from headwater.hooks.postgres import PostgresHook
    from headwater.hooks.smtp import SmtpHook
    from headwater.hooks.sql import DbApiHook
    from headwater.hooks.sqlite import SqliteHook

__all__ = [
    "BaseHook",
    "DbApiHook",
    "FSHook",
    "HttpHook",
    "MySqlHook",
    "PostgresHook",
    "SmtpHook",
    "SqliteHook",
]

_LAZY = {
    "DbApiHook": "headwater.hooks.sql",
    "FSHook": "headwater.hooks.filesystem",
    "HttpHook": "headwater.hooks.http",
    "MySqlHook": "headwater.hooks.mysql",
    "PostgresHook": "headwater.hooks.postgres",
    "SmtpHook": "headwater.hooks.smtp",
    "SqliteHook": "headwater.hooks.sqlite",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headwater.hooks' has no attribute {name!r}")
