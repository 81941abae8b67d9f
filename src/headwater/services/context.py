"""What every service function takes: the settings and the store, opened once.

:func:`open_context` is how a command (or, later, the REST API at startup) gets one. The
store is opened by :func:`headwater.db.opening.open_store`, the one place that opens the
metadata database from the settings; while the context is open, an error that says the
database cannot be reached becomes a one-line :class:`~headwater.services.errors.DatabaseError`.
Example::

    with open_context() as ctx:
        runs = list_runs(ctx, "etl", state="failed")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.settings import Settings
    from headwater.store.sql import SqlStore


@dataclass(frozen=True)
class ServiceContext:
    """The settings and the opened metadata store that service functions work on."""

    settings: Settings
    store: SqlStore

    def now(self) -> datetime:
        """The time changes are recorded at: the store's clock (a fake one in tests)."""
        return self.store.clock.now()


@contextmanager
def open_context(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = False,
    checked: bool = False,
) -> Iterator[ServiceContext]:
    """A :class:`ServiceContext` on the database of ``settings`` (default: loaded now),
    which must exist and be migrated (``migrate``: migrated first; ``checked``: the caller
    checked it already); the store is closed when the block ends."""
    from headwater.db.opening import open_store
    from headwater.services.database_errors import database_errors

    if settings is None:
        from headwater.settings import load_settings

        settings = load_settings()
    with database_errors(settings.database_url):
        store = open_store(settings, clock=clock, migrate=migrate, checked=checked)
        try:
            yield ServiceContext(settings, store)
        finally:
            store.close()
