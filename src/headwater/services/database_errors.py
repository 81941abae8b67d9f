"""A database that cannot be reached or used, as one line: a
:class:`~headwater.db.errors.DatabaseError` naming the database (password hidden) and the
driver's first line.

Its own module, light to import (SQLAlchemy only when a database was opened), because every
:class:`~headwater.services.context.ServiceContext` and every command's error handler use it.
Re-exported by :mod:`headwater.services.errors`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.db.errors import DatabaseError


def unreachable_database(exc: BaseException, url: str | None = None) -> DatabaseError | None:
    """The one-line :class:`DatabaseError` for an error that says the database cannot be
    reached or used (refused, timed out, dropped); None for any other error. ``url``
    defaults to the settings' database."""
    if "sqlalchemy" not in sys.modules:  # nothing opened a database
        return None
    from sqlalchemy.exc import InterfaceError, OperationalError

    from headwater.services.database import shown_url

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    reason = (str(exc.orig or exc).strip().splitlines() or ["?"])[0]
    if url is None:
        try:
            from headwater.settings import load_settings

            url = load_settings().database_url
        except Exception:  # the settings broke after the command started: say less
            return DatabaseError(f"cannot use the database: {reason}")
    return DatabaseError(f"cannot use the database {shown_url(url)}: {reason}")


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached is a one-line :class:`DatabaseError`."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        problem = unreachable_database(exc, url)
        assert problem is not None  # both are errors unreachable_database() explains
        raise problem from None
