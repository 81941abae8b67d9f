"""The errors the database layer raises for problems a user can fix."""

from __future__ import annotations

from headwater.exceptions import HeadwaterError


class DatabaseError(HeadwaterError):
    """The metadata database cannot be used as asked.

    An unsupported URL, a database whose schema is older or newer than this headwater, or a
    change the store refuses (deleting ``default_pool``).
    """


class DamagedDatabaseError(DatabaseError):
    """The SQLite file is not a database, or is damaged ("database disk image is malformed").

    Its message names the file and the ways out: restore it from a backup, or start over
    with ``headwater db reset``, which sets the damaged file aside.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = " ".join(reason.split()) or "damaged"  # one line, whatever SQLite said
        super().__init__(
            f"the database {path} is damaged ({self.reason}): restore it from a backup, or run "
            "`headwater db reset` to start over (this loses every DAG run, variable, pool and "
            "connection stored in it)"
        )
