"""The errors of :mod:`headwater.operations`, so a caller can tell them apart::

    HeadwaterError
    └── OperationError
        ├── NotFoundError          no such DAG, run, task instance, pool, variable, connection
        │   └── DagNotInDatabaseError   (also a DagNotFoundError)
        ├── ConflictError          the change clashes with what is stored (a run id taken,
        │                          an instance still running, a DAG no file defines)
        └── InvalidRequestError    the input itself is wrong (a date, a count, a mode)

The command line prints each as one line and exits 1; the REST API will answer 404, 409
and 400. Errors from elsewhere pass through unchanged: ``ParamValidationError`` for a conf
that fails the DAG's params, ``TaskNotFoundError`` for an unknown task id.
"""

from __future__ import annotations

from headwater.exceptions import DagNotFoundError, HeadwaterError


class OperationError(HeadwaterError):
    """An operation on the metadata database was refused; nothing was changed."""


class NotFoundError(OperationError):
    """What the operation names does not exist."""


class DagNotInDatabaseError(NotFoundError, DagNotFoundError):
    """The DAG is not in the database: the DAG processor has not stored it (yet)."""


class ConflictError(OperationError):
    """The change clashes with the stored state."""


class InvalidRequestError(OperationError):
    """An argument is invalid on its own."""
