"""The files of a SQLite metadata database: which file a URL names, a warning when others
may read it, and setting a damaged one aside so ``headwater db reset`` can start over.

SQLite keeps a database in up to three files: ``headwater.db``, and while in WAL mode
``headwater.db-wal`` (commits not yet copied into the database) and ``headwater.db-shm`` (an
index of the WAL, rebuilt from it when missing).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from headwater.private_files import file_in_the_way, readable_by_others

log = logging.getLogger(__name__)

_warned: set[Path] = set()


def sqlite_file(url: str) -> Path | None:
    """The database file a ``sqlite:///`` URL names; None for other databases, in-memory
    ones and ``file:`` URIs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database).expanduser()


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (connecting would create it)."""
    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None


def require_creatable_path(path: Path) -> None:
    """Refuse a SQLite file under a regular file (``/home/ann/notes.txt/headwater.db``, or
    ``HEADWATER_HOME`` set to a file): it can neither exist nor be created, so saying "run
    `headwater db migrate`" would not help, and os.stat's "Not a directory" says too little."""
    from headwater.db.errors import DatabaseError

    blocker = file_in_the_way(path)
    if blocker is not None:
        raise DatabaseError(
            f"the database {path} cannot be created or opened: {blocker} is a file, not a "
            "folder; set database.url (HEADWATER_DATABASE_URL) or HEADWATER_HOME to a path "
            "in a folder"
        )


def require_existing_database(url: str) -> None:
    """Refuse a SQLite database that does not exist, rather than let connecting create an
    empty file (and its folder) that every command would then call "not initialised"."""
    from headwater.db.errors import DatabaseError

    path = sqlite_file(url)
    if path is not None:
        require_creatable_path(path)
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise DatabaseError(
            f"the database {missing} does not exist: run `headwater db migrate` to create it"
        )


def warn_if_readable_by_others(url: str) -> None:
    """Log one warning (once per process and file) when the SQLite database of ``url`` may be
    read by users other than its owner. Called by the commands that open the database, not
    by every engine: the worker processes would each repeat it."""
    path = sqlite_file(url)
    if path is None or path in _warned or not readable_by_others(path):
        return
    _warned.add(path)
    mode = os.stat(path).st_mode & 0o777
    log.warning(
        "the database %s can be read by other users of this machine (mode %04o), and it "
        "holds every connection, variable and XCom: run `chmod 600 %s*`",
        path,
        mode,
        path,
    )


def set_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename a damaged database (and its WAL) to ``<name>.damaged-<UTC time>``; returns the
    new path. Nothing is deleted but the WAL index, which SQLite rebuilds: whoever wants to
    try recovering the old data (``sqlite3 old.db .recover``) still can."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(aside)
    for suffix in ("-wal", "-journal"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            # Named after the moved file, SQLite still reads it as that file's WAL/journal.
            companion.rename(f"{aside}{suffix}")
    Path(f"{path}-shm").unlink(missing_ok=True)
    return aside
