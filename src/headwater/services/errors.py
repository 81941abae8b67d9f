"""The errors services raise, one hierarchy under :class:`~headwater.exceptions.HeadwaterError`::

    HeadwaterError
    ├── OperationError             a request was refused; nothing was changed
    │   ├── NotFoundError          no such DAG, run, task instance, pool, variable, connection
    │   │   ├── DagNotInDatabaseError   the DAG processor has not stored the DAG (yet)
    │   │   └── NoAttemptYetError      a task instance has no attempt (so no log) yet
    │   ├── ConflictError          clashes with what is stored (a run id taken, an instance
    │   │                          still running, a DAG no file defines)
    │   └── InvalidRequestError    the input itself is wrong (a date, a count, a name)
    └── DatabaseError              the database cannot be used (missing, not migrated,
        └── DamagedDatabaseError   unreachable, damaged)

The hierarchy is defined where the write logic raises it (:mod:`headwater.operations.errors`,
:mod:`headwater.db.errors`) and re-exported here, so callers of the services need no other
module. The CLI prints each as one line and exits 1; the REST API will answer 404 (not
found), 409 (conflict), 400 (invalid) and 503 (database).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.db.errors import DamagedDatabaseError, DatabaseError
from headwater.exceptions import HeadwaterError
from headwater.operations.errors import (
    ConflictError,
    DagNotInDatabaseError,
    InvalidRequestError,
    NotFoundError,
    OperationError,
)
from headwater.operations.logs import NoAttemptYetError

__all__ = [
    "ConflictError",
    "DagNotInDatabaseError",
    "DamagedDatabaseError",
    "DatabaseError",
    "HeadwaterError",
    "InvalidRequestError",
    "NoAttemptYetError",
    "NotFoundError",
    "OperationError",
    "database_errors",
    "unreachable_database",
]


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
