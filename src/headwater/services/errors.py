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

from headwater.db.errors import DamagedDatabaseError, DatabaseError
from headwater.exceptions import (
    DagNotFoundError,
    HeadwaterError,
    StaleWriteError,
    TaskNotFoundError,
)
from headwater.operations.errors import (
    ConflictError,
    DagNotInDatabaseError,
    InvalidRequestError,
    NotFoundError,
    OperationError,
)
from headwater.operations.logs import NoAttemptYetError
from headwater.services.database_errors import database_errors, unreachable_database

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
    "status_code",
    "unreachable_database",
]


def status_code(error: HeadwaterError) -> int:
    """The HTTP status the REST API answers ``error`` with: 404 not found (a DAG, task or
    anything a service names), 409 conflict, 503 for a database that cannot be used, 400
    for anything else a request got wrong (invalid input, params the DAG refuses). A
    :class:`~headwater.exceptions.StaleWriteError` (the scheduler changed what the request
    read, while it ran) is a conflict too: nothing was written, and the request may be
    sent again."""
    if isinstance(error, NotFoundError | DagNotFoundError | TaskNotFoundError):
        return 404
    if isinstance(error, ConflictError | StaleWriteError):  # StaleWriteError: changed meanwhile
        return 409
    if isinstance(error, DatabaseError):
        return 503
    return 400  # InvalidRequestError, ParamValidationError: the request's own fault
