"""When the database connection drops: telling that error from others, and waiting to try
the unit of work again, a bounded number of times with backoff.

A PostgreSQL server that restarts, fails over, or ends a backend (``pg_terminate_backend``,
an idle timeout, a proxy) fails the statement in flight with ``OperationalError``; one that
refuses new connections for a while (starting up, ``ALLOW_CONNECTIONS false``, too many
clients) fails the connect the same way. SQLAlchemy invalidates a dropped connection, and
its pool opens a fresh one for the next checkout, so trying the whole unit of work again
later is enough, as long as trying it twice is safe: each caller says why it is (a
transaction that failed was rolled back; a compare-and-set that did commit is recognised).

Each failure is logged once, as one warning line (no traceback), with the wait before the
next try; the first success after failures is logged once too ("Reconnected to the
database"). After :data:`RETRY_WAITS_S` is used up (about 20 s of waiting in all), the
error is raised: a database that stays away is an outage to report, not to hide.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

T = TypeVar("T")

RETRY_WAITS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0)
"""The waits before each new try after a lost connection: 19.85 s in all, then the error
is raised."""

_LOST_SQLSTATES = ("08", "57P", "53300")


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the database was lost or refused (so the same
    work may succeed on a fresh connection), not that the work itself was wrong.

    SQLite's ``OperationalError`` ("database is locked", a full disk) is not: the file is
    local and there is no connection to lose."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error) or not isinstance(
        exc, OperationalError | InterfaceError
    ):
        return False
    # No SQLSTATE: libpq could not connect (refused, "not currently accepting connections",
    # a timeout) or lost the socket. 08: a connection exception; 57P: the server is shutting
    # down, ended the backend or is starting; 53300: too many connections. Not a deadlock or
    # a statement timeout (57014): the work itself met those, not the connection.
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate is None or str(sqlstate).startswith(_LOST_SQLSTATES)


def short_reason(exc: BaseException) -> str:
    """The driver's first line: "terminating connection due to administrator command"."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


class ReconnectBackoff:
    """Counts consecutive lost connections of one loop, says each once, and tells how long
    to wait before the next try (:meth:`failed`); :meth:`succeeded` after a success.

    Example (a service's loop)::

        backoff = ReconnectBackoff("the scheduler loop", log)
        while not should_stop():
            try:
                one_pass()
            except Exception as exc:
                if not is_connection_lost(exc):
                    raise
                time.sleep(backoff.failed(exc))  # raises exc once the waits are used up
                continue
            backoff.succeeded()
    """

    def __init__(
        self, what: str, log: logging.Logger, waits: Sequence[float] = RETRY_WAITS_S
    ) -> None:
        self.what = what
        self.log = log
        self.waits = tuple(waits)
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """The wait before the next try after ``exc`` (a lost connection), logged as one
        warning; raises ``exc`` when no try is left."""
        if self.failures >= len(self.waits):
            self.log.error(
                "The database connection was lost (%s): %s gave up after %d tries",
                short_reason(exc),
                self.what,
                self.failures + 1,
            )
            raise exc
        wait = self.waits[self.failures]
        self.failures += 1
        self.log.warning(
            "The database connection was lost (%s): %s tries again in %g s (try %d of %d)",
            short_reason(exc),
            self.what,
            wait,
            self.failures + 1,
            len(self.waits) + 1,
        )
        return wait

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning(
                "Reconnected to the database: %s goes on after %d failed tries",
                self.what,
                self.failures,
            )
            self.failures = 0


def retry_when_connection_lost(
    work: Callable[[], T],
    what: str,
    log: logging.Logger,
    *,
    waits: Sequence[float] = RETRY_WAITS_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``, tried again after each lost connection (see :class:`ReconnectBackoff`);
    its other errors, and the last lost connection, are raised. ``work`` must be safe to
    run twice: the caller says why in a comment."""
    backoff = ReconnectBackoff(what, log, waits)
    while True:
        try:
            result = work()
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            sleep(backoff.failed(exc))
            continue
        backoff.succeeded()
        return result
