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


def write_private_file(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path``, mode ``0600`` (made so if it existed with another mode),
    for a secret no one else on the machine may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """Whether users other than the owner may read ``path`` (its group or everyone); False
    when it cannot be read at all (missing, or under a file): whoever opens it says why."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def file_in_the_way(path: str | os.PathLike[str]) -> str | None:
    """The closest folder above ``path`` that exists but is a file (``/home/ann/notes.txt``
    for ``/home/ann/notes.txt/logs``): what makes creating ``path`` fail with "Not a
    directory". None when the closest existing one is a folder."""
    current = os.path.abspath(os.fspath(path))
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
        try:
            mode = os.stat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue  # missing, or under a file further up: look there
        except OSError:
            return None  # cannot look (permissions): whoever creates it says why
        return None if stat.S_ISDIR(mode) else current


def unusable_folder(folder: str | os.PathLike[str]) -> str | None:
    """Create ``folder`` (owner-only, as :func:`make_private_folders`) when missing; then why
    files cannot be written in it, in words that follow its path ("is a file, not a
    folder"), or None when they can. For checking a folder setting once, at start."""
    path = os.fspath(folder)
    blocker = file_in_the_way(path)
    if blocker is not None:
        return f"is under {blocker}, which is a file, not a folder"
    if os.path.exists(path) and not os.path.isdir(path):
        return "is a file, not a folder"
    try:
        make_private_folders(path)
    except OSError as exc:
        return f"cannot be created: {exc.strerror or exc}"
    if not os.access(path, os.W_OK | os.X_OK):
        return "is a folder this user cannot write to"
    return None
