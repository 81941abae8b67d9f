"""FileTrigger: fires when a file matching a glob pattern exists.

The rule is :class:`~headwater.sensors.FileSensor`'s, shared through :func:`find_file`: a
regular file the pattern matches, or a matched folder that holds a file somewhere below it.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.triggers.base import BaseTrigger, TriggerEvent, trigger_classpath


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


class FileTrigger(BaseTrigger):
    """Checks every ``poke_interval`` seconds whether ``filepath`` (an absolute path or
    glob pattern) finds a file (see :func:`find_file`); fires with the path of the file it
    found. The check runs in a thread, so a slow file system does not hold the event loop.

    Example: ``FileTrigger("/data/landing/orders_*.csv", poke_interval=30)``.
    """

    def __init__(self, filepath: str, recursive: bool = False, poke_interval: float = 5.0) -> None:
        if not isinstance(filepath, str) or not filepath:
            raise HeadwaterError(f"filepath must be a non-empty path or pattern, got {filepath!r}")
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
            raise HeadwaterError(f"poke_interval must be seconds, got {poke_interval!r}")
        if not poke_interval > 0:
            raise HeadwaterError(f"poke_interval must be > 0 seconds, got {poke_interval!r}")
        self.filepath = filepath
        self.recursive = bool(recursive)
        self.poke_interval = float(poke_interval)

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
