"""File triggers: :class:`FileTrigger` fires when a file matching a glob pattern exists;
:class:`FileDeleteTrigger` and :class:`DirectoryFileDeleteTrigger` fire when one named file
exists, and delete it, for asset watchers (each event updates the asset, and the trigger
starts again: deleting the file is what keeps one file from firing twice).

:class:`FileTrigger`'s rule is :class:`~headwater.sensors.FileSensor`'s, shared through
:func:`find_file`: a regular file the pattern matches, or a matched folder that holds a file
somewhere below it.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent, trigger_classpath


def find_file(pattern: str, recursive: bool = False) -> str | None:
    """The first file ``pattern`` (a glob; ``**`` spans folders with ``recursive``) finds: a
    matched regular file, or a file inside a matched folder; None when there is none."""
    for path in sorted(glob.glob(pattern, recursive=recursive)):
        if os.path.isfile(path):
            return path
        for folder, _, files in os.walk(path):
            if files:
                return os.path.join(folder, sorted(files)[0])
    return None


def _check_text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise HeadwaterError(f"{field} must be a non-empty path or name, got {value!r}")
    return value


def _check_interval(poke_interval: Any) -> float:
    if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
        raise HeadwaterError(f"poke_interval must be seconds, got {poke_interval!r}")
    if not poke_interval > 0:
        raise HeadwaterError(f"poke_interval must be > 0 seconds, got {poke_interval!r}")
    return float(poke_interval)


def take_file(path: str) -> bool:
    """Delete ``path`` if it is a regular file; whether this call deleted it (False when it is
    absent, not a file, or another watcher deleted it first)."""
    if not os.path.isfile(path):
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


class FileTrigger(BaseTrigger):
    """Checks every ``poke_interval`` seconds whether ``filepath`` (an absolute path or
    glob pattern) finds a file (see :func:`find_file`); fires with the path of the file it
    found. The check runs in a thread, so a slow file system does not hold the event loop.

    Example: ``FileTrigger("/data/landing/orders_*.csv", poke_interval=30)``.
    """

    def __init__(self, filepath: str, recursive: bool = False, poke_interval: float = 5.0) -> None:
        self.filepath = _check_text("filepath", filepath)
        self.recursive = bool(recursive)
        self.poke_interval = _check_interval(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "filepath": self.filepath,
                "recursive": self.recursive,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            found = await asyncio.to_thread(find_file, self.filepath, self.recursive)
            if found is not None:
                yield TriggerEvent(found)
                return
            await asyncio.sleep(self.poke_interval)


class FileDeleteTrigger(BaseEventTrigger):
    """Checks every ``poke_interval`` seconds whether the regular file ``filepath`` exists
    (no pattern); when it does, deletes it and fires with ``{"filepath": filepath}``. Meant
    for asset watchers: whoever drops the file asks for one event of the asset.

    Example: ``FileDeleteTrigger("/data/inbox/ready.flag", poke_interval=10)``.
    """

    def __init__(self, filepath: str, poke_interval: float = 5.0) -> None:
        self.filepath = _check_text("filepath", filepath)
        self.poke_interval = _check_interval(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {"filepath": self.filepath, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while not await asyncio.to_thread(take_file, self.filepath):
            await asyncio.sleep(self.poke_interval)
        yield TriggerEvent({"filepath": self.filepath})


class DirectoryFileDeleteTrigger(BaseEventTrigger):
    """Checks every ``poke_interval`` seconds whether ``filename`` (a bare name) is in
    ``directory``; when it is, deletes it and fires with ``{"filepath": <its path>}``. A
    missing directory is as good as an empty one (the trigger keeps looking).

    Example: ``DirectoryFileDeleteTrigger(directory="/data/flags", filename="us.flag")``.
    """

    def __init__(self, *, directory: str, filename: str, poke_interval: float = 5.0) -> None:
        self.directory = _check_text("directory", directory)
        self.filename = _check_text("filename", filename)
        if os.sep in filename or (os.altsep is not None and os.altsep in filename):
            raise HeadwaterError(
                f"filename must be a name inside directory {directory!r}, without a folder; "
                f"got {filename!r}"
            )
        self.poke_interval = _check_interval(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "directory": self.directory,
                "filename": self.filename,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        path = os.path.join(self.directory, self.filename)
        while not await asyncio.to_thread(take_file, path):
            await asyncio.sleep(self.poke_interval)
        yield TriggerEvent({"filepath": path})
