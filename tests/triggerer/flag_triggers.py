"""Triggers for the triggerer's tests, importable by classpath (``flag_triggers.X``) in this
process (the test folder is on ``sys.path``) and in a triggerer process (the tests copy this
file into its DAG folder, which the triggerer puts on ``sys.path``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from headwater.triggers.base import BaseTrigger, TriggerEvent


def raise_flag(path: str | Path, text: str = "up") -> None:
    """Create the flag file ``path`` with ``text`` at once (renamed into place: a trigger
    never reads it half written)."""
    draft = Path(f"{path}.draft")
    draft.write_text(text)
    os.replace(draft, path)


class FlagTrigger(BaseTrigger):
    """Fires when the file ``path`` exists, with its text; writes ``path + '.cleanup'`` when
    it stops (fired or cancelled)."""

    def __init__(self, path: str, poll_s: float = 0.01) -> None:
        self.path, self.poll_s = path, poll_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flag_triggers.FlagTrigger", {"path": self.path, "poll_s": self.poll_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        flag = Path(self.path)
        while not flag.exists():
            await asyncio.sleep(self.poll_s)
        yield TriggerEvent({"path": self.path, "text": flag.read_text()})

    async def cleanup(self) -> None:
        Path(self.path + ".cleanup").write_text("cleaned up")


class RaisingTrigger(BaseTrigger):
    def __init__(self, message: str) -> None:
        self.message = message

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flag_triggers.RaisingTrigger", {"message": self.message})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0)
        raise ValueError(self.message)
        yield TriggerEvent()  # an async generator all the same


class SilentTrigger(BaseTrigger):
    """Ends without an event."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flag_triggers.SilentTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        for _ in ():
            yield TriggerEvent()


class ObjectPayloadTrigger(BaseTrigger):
    """Fires with a payload that is not JSON."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flag_triggers.ObjectPayloadTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent({"when": object()})


class BlockingTrigger(BaseTrigger):
    """Blocks the event loop (``time.sleep``) for ``seconds``, then fires: a badly written one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flag_triggers.BlockingTrigger", {"seconds": self.seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0)
        time.sleep(self.seconds)
        yield TriggerEvent("woke up")
