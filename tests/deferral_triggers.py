"""Triggers and deferring operators for the deferral tests (importable by classpath, as the
triggerer imports triggers)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.sensors import BaseSensorOperator, PokeReturnValue
from headwater.triggers import BaseTrigger, TriggerEvent


class FileTrigger(BaseTrigger):
    """Fires with ``{"path": ..., "text": ...}`` once ``path`` exists."""

    def __init__(self, path: str, poll_s: float = 0.01) -> None:
        self.path = path
        self.poll_s = poll_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.FileTrigger", {"path": self.path, "poll_s": self.poll_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while not os.path.exists(self.path):
            await asyncio.sleep(self.poll_s)
        with open(self.path) as file:
            yield TriggerEvent({"path": self.path, "text": file.read()})


class NowTrigger(BaseTrigger):
    """Fires at once with ``payload``."""

    def __init__(self, payload: Any = None) -> None:
        self.payload = payload

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.NowTrigger", {"payload": self.payload})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(self.payload)


class NeverTrigger(BaseTrigger):
    """Never fires."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.NeverTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.Event().wait()
        yield TriggerEvent(None)  # pragma: no cover


class BrokenTrigger(BaseTrigger):
    """Raises instead of firing."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.BrokenTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        raise RuntimeError("the source is unreachable")
        yield TriggerEvent(None)  # pragma: no cover


class WaitForFile(BaseOperator):
    """Defers to :class:`FileTrigger`; returns the file's text when it resumes."""

    def __init__(self, *, path: str, timeout_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.timeout_s = timeout_s

    def execute(self, context: dict[str, Any]) -> Any:
        self.defer(
            trigger=FileTrigger(self.path),
            method_name="execute_complete",
            kwargs={"started_in": context["ti"].try_number},
            timeout=None if self.timeout_s is None else timedelta(seconds=self.timeout_s),
        )

    def execute_complete(self, context: dict[str, Any], event: Any, started_in: int) -> Any:
        return {"text": event["text"], "started_in": started_in}


class DeferTo(BaseOperator):
    """Defers to the trigger it is given; returns the event's payload when it resumes."""

    def __init__(
        self, *, trigger: BaseTrigger, timeout_s: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.trigger = trigger
        self.timeout_s = timeout_s

    def execute(self, context: dict[str, Any]) -> Any:
        timeout = None if self.timeout_s is None else timedelta(seconds=self.timeout_s)
        self.defer(trigger=self.trigger, method_name="resume_here", timeout=timeout)

    def resume_here(self, context: dict[str, Any], event: Any) -> Any:
        return {"event": event}


class CountingSensor(BaseSensorOperator):
    """Done at its ``done_at``-th poke of a wait (``PokeReturnValue`` with the count)."""

    def __init__(self, *, done_at: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.done_at = done_at

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        ti = context["ti"]
        pokes = ti.previous_pokes + 1
        ti.log.info("poke %d (wait started at %s)", pokes, ti.wait_started_at)
        return PokeReturnValue(pokes >= self.done_at, xcom_value={"pokes": pokes})
