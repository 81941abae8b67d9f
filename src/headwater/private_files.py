"""Files and folders only their owner can read: the metadata database, task logs, the home.

The database holds every connection (with its password), variable and XCom; the logs hold
whatever tasks print. headwater creates them owner-only (folders ``0700``, files ``0600``)
whatever the process umask, without changing the umask (it is process-wide: a task or the
application embedding headwater may rely on it). Files and folders that already exist keep
their mode: headwater never loosens nor silently tightens what someone chose.

Example::

    make_private_folders("/home/ann/.headwater/logs/dag_id=etl")
    create_private_file("/home/ann/.headwater/headwater.db")
"""

from __future__ import annotations

import os
import stat

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_folders(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and its missing parents, each ``0700``; nothing if it exists."""
    path = os.fspath(folder)
    try:
        os.mkdir(path, PRIVATE_FOLDER_MODE)
    except FileExistsError:
        return
    except FileNotFoundError:
        parent = os.path.dirname(os.path.abspath(path))
        if parent == os.path.abspath(path):  # pragma: no cover - the root always exists
            raise
        make_private_folders(parent)
        try:
            os.mkdir(path, PRIVATE_FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile
            return
    # mkdir's mode passes through the umask, which may take bits away (or, at 0, none).
    os.chmod(path, PRIVATE_FOLDER_MODE)


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create ``path`` empty and ``0600`` unless it exists; returns whether it created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """Whether users other than the owner may read ``path`` (its group or everyone)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))
