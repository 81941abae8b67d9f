"""The one error the database layer raises for problems a user can fix."""

from __future__ import annotations

from headwater.exceptions import HeadwaterError


class DatabaseError(HeadwaterError):
    """The metadata database cannot be used as asked.

    An unsupported URL, a database whose schema is older or newer than this headwater, or a
    change the store refuses (deleting ``default_pool``).
    """
