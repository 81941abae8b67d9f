"""What a trigger is: a small asyncio coroutine the triggerer runs until it fires.

A deferred task waits on a trigger (``self.defer(trigger=..., method_name=...)``). The
triggerer, in another process and maybe after restarts, builds the trigger again from
:meth:`BaseTrigger.serialize` and iterates :meth:`BaseTrigger.run`; the first
:class:`TriggerEvent` it yields fires the trigger, and the task resumes in a worker with the
event's payload. Example::

    class FileExistsTrigger(BaseTrigger):
        def __init__(self, path: str, poll_interval: float = 5.0) -> None:
            self.path, self.poll_interval = path, poll_interval

        def serialize(self) -> tuple[str, dict[str, Any]]:
            return ("mypackage.triggers.FileExistsTrigger",
                    {"path": self.path, "poll_interval": self.poll_interval})

        async def run(self) -> AsyncIterator[TriggerEvent]:
            while not os.path.exists(self.path):
                await asyncio.sleep(self.poll_interval)
            yield TriggerEvent({"path": self.path})

A trigger must not block the event loop (use ``await``, or ``asyncio.to_thread`` for a
blocking call): thousands share one loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from headwater.exceptions import HeadwaterError

T = TypeVar("T")


@dataclass(frozen=True)
class TriggerEvent:
    """What a trigger yields when it fires; ``payload`` must be JSON values."""

    payload: Any = None


class BaseTrigger(ABC):
    """A serializable asyncio wait; subclasses implement :meth:`serialize` and :meth:`run`."""

    @abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """``(classpath, kwargs)``: the trigger is ``import(classpath)(**kwargs)`` again in the
        triggerer; kwargs must be JSON values."""

    @abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then yield the event that fires the trigger (the first one counts)."""

    async def cleanup(self) -> None:  # noqa: B027  (an optional hook)
        """Called when the triggerer stops running this trigger (fired, timed out, its
        instance cleared, the triggerer stopping). Nothing by default."""

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        return f"<{classpath} {kwargs}>"


class BaseEventTrigger(BaseTrigger):
    """A trigger made for asset watchers (``Asset(watchers=[AssetWatcher(name, trigger)])``,
    Airflow 3's event-driven scheduling): each event it yields means "the asset changed", and
    it does not yield again for the same change (it consumes what it saw: deletes the file,
    acknowledges the message), since the triggerer starts it again after every event.
    :class:`~headwater.triggers.file.FileDeleteTrigger` and
    :class:`~headwater.triggers.file.DirectoryFileDeleteTrigger` are ones. Any trigger may
    watch an asset; this class says which are meant to (``airflow.triggers.base``'s
    name, for Airflow files that define their own)."""

    @staticmethod
    def hash(classpath: str, kwargs: dict[str, Any]) -> int:
        """One number per trigger definition (its classpath and keyword arguments): two
        watchers with equal ones watch the same thing."""
        return hash((classpath, json.dumps(kwargs, sort_keys=True, default=str)))


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end from synchronous code and return its result.

    ``asyncio.run`` in this thread, or in a thread of its own when this thread already runs
    an event loop (a Jupyter notebook, Playwright's sync API, an async web app calling
    ``dag.test()``), where ``asyncio.run`` would refuse to start.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="headwater-async") as pool:
        # The caller's context variables (the attempt's metadata store, which connections are
        # looked up in) go with it.
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()


def trigger_classpath(trigger: BaseTrigger) -> str:
    """``module.Class`` of ``trigger``'s class."""
    cls = type(trigger)
    return f"{cls.__module__}.{cls.__qualname__}"


def build_trigger(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The trigger a stored ``(classpath, kwargs)`` describes; a :class:`HeadwaterError`
    naming the classpath when it cannot be imported or built."""
    module_name, _, class_name = classpath.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise HeadwaterError(f"trigger {classpath!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise HeadwaterError(f"trigger {classpath!r} is not a BaseTrigger")
    try:
        return cls(**kwargs)
    except Exception as exc:
        raise HeadwaterError(
            f"trigger {classpath!r} cannot be built from {kwargs}: {exc}"
        ) from None
