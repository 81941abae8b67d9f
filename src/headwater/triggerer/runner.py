"""The triggerer's event loop: one asyncio loop, in a thread of its own, running triggers.

:class:`TriggerRunner` is all the triggerer knows of asyncio. The daemon's thread (which
owns the store: SQL calls block, so they never run on the loop) hands it built triggers
(:meth:`TriggerRunner.run`) and ids to stop (:meth:`TriggerRunner.cancel`), and collects
what they came to (:meth:`TriggerRunner.results`): each trigger runs as one asyncio task
that iterates its ``run()`` until the first event (a :class:`TriggerResult` with the
payload), an exception (a result with the traceback's last line as its error) or its
cancellation (no result), then calls its ``cleanup()``.

Thousands of triggers share the loop, so one that blocks it (``time.sleep``, a blocking
read) delays every other: each step of a trigger is timed, and one over
:data:`BLOCKED_LOOP_S` is logged, naming the trigger ("trigger 12 (pkg.FileTrigger) blocked
the event loop for 1.52 s").
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import traceback
import types
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from headwater.triggers.base import BaseTrigger, TriggerEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

BLOCKED_LOOP_S = 0.2
"""A trigger step (the code between two ``await`` s) that runs longer holds up the loop: it
is logged."""

STILL_BLOCKED_S = 5.0
"""A step still running after this long is logged while it runs (see
:meth:`TriggerRunner.check_blocked`)."""

CLEANUP_TIMEOUT_S = 5.0
"""How long a trigger's ``cleanup()`` may take before it is abandoned (logged)."""

STOP_TIMEOUT_S = 10.0
"""How long :meth:`TriggerRunner.stop` waits for the cancelled triggers to clean up."""


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger came to: its first event's ``payload``, or an ``error`` (it raised)."""

    trigger_id: int
    payload: Any = None
    error: str | None = None


def last_line(exc: BaseException) -> str:
    """``ValueError: bad path``: the last line of ``exc``'s traceback."""
    return traceback.format_exception_only(exc)[-1].strip()


@types.coroutine
def _timed(
    awaitable: Awaitable[T],
    on_step: Callable[[float], None],
    on_begin: Callable[[float], None] = lambda began: None,
) -> Generator[Any, Any, T]:
    """Await ``awaitable`` step by step, as ``await`` would, telling ``on_begin`` when each
    step begins and ``on_step`` how long it ran: the time a trigger held the loop before it
    awaited something."""
    steps = awaitable.__await__()
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        began = time.monotonic()
        on_begin(began)
        try:
            yielded = steps.send(sent) if thrown is None else steps.throw(thrown)
        except StopIteration as stop:
            on_step(time.monotonic() - began)
            return stop.value
        except BaseException:
            on_step(time.monotonic() - began)
            raise
        on_step(time.monotonic() - began)
        sent, thrown = None, None
        try:
            sent = yield yielded
        except BaseException as exc:  # a cancellation, handed on to the trigger
            thrown = exc


class TriggerRunner:
    """One asyncio event loop in a thread (``headwater-triggers``), running triggers.

    Thread-safe: :meth:`run`, :meth:`cancel`, :meth:`results` and :meth:`stop` are called
    from the daemon's thread; the triggers' tasks live on the loop only. ``on_result`` is
    called (from the loop's thread) each time a result is ready, to wake the daemon.
    """

    def __init__(self, on_result: Callable[[], None] | None = None) -> None:
        self._on_result = on_result
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="headwater-triggers", daemon=True)
        # On the loop's thread only:
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._not_begun: set[int] = set()
        self._cleanups: set[asyncio.Task[None]] = set()
        self._results: collections.deque[TriggerResult] = collections.deque()
        self.stepping: tuple[str, float] | None = None
        """The trigger running a step now, and when (``time.monotonic()``) it began: read
        from the daemon's thread to name a trigger that blocks the loop while it does."""
        self._reported_block: tuple[str, float] | None = None

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def run(self, trigger_id: int, trigger: BaseTrigger, name: str) -> None:
        """Start running ``trigger`` (``name`` says which it is in logs)."""
        self._loop.call_soon_threadsafe(self._start, trigger_id, trigger, name)

    def cancel(self, trigger_ids: set[int]) -> None:
        """Stop these triggers (their ``cleanup()`` runs); they give no result."""
        if trigger_ids:
            self._loop.call_soon_threadsafe(self._cancel, set(trigger_ids))

    def results(self) -> list[TriggerResult]:
        """The results ready since the last call."""
        taken = []
        while self._results:
            taken.append(self._results.popleft())
        return taken

    def check_blocked(self) -> None:
        """From the daemon's thread: log the trigger that has held the loop for more than
        :data:`STILL_BLOCKED_S` in the step it runs now (once per step), since one that
        never awaits again is never logged when its step ends."""
        stepping = self.stepping
        if stepping is None or stepping == self._reported_block:
            return
        name, began = stepping
        seconds = time.monotonic() - began
        if seconds > STILL_BLOCKED_S:
            self._reported_block = stepping
            log.warning(
                "Trigger %s has blocked the event loop for %.1f s and still does: no other "
                "trigger runs meanwhile",
                name,
                seconds,
            )

    def has_results(self) -> bool:
        return bool(self._results)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Cancel every trigger, wait (at most ``timeout_s``) for their clean-ups, and stop
        the loop and its thread. Results given before stay in :meth:`results`."""
        if not self._thread.is_alive():
            return
        done: Future[None] = asyncio.run_coroutine_threadsafe(
            self._cancel_all(timeout_s), self._loop
        )
        try:
            done.result(timeout=timeout_s + 1.0)
        except Exception as exc:
            log.warning("Triggers did not all stop within %.0f s: %s", timeout_s, exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=timeout_s)

    # -- on the loop's thread ------------------------------------------------------------------

    def _start(self, trigger_id: int, trigger: BaseTrigger, name: str) -> None:
        running = self._tasks.get(trigger_id)
        if running is not None:  # cancelled, still cleaning up: start again once it ended
            running.add_done_callback(lambda _: self._start(trigger_id, trigger, name))
            return
        task = self._loop.create_task(self._run_one(trigger_id, trigger, name), name=name)
        self._tasks[trigger_id] = task
        self._not_begun.add(trigger_id)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.pop(trigger_id, None)
            if trigger_id in self._not_begun:  # cancelled before its first step
                self._not_begun.discard(trigger_id)
                cleanup = self._loop.create_task(self._clean_up(trigger, name))
                self._cleanups.add(cleanup)
                cleanup.add_done_callback(self._cleanups.discard)

        task.add_done_callback(done)

    def _cancel(self, trigger_ids: set[int]) -> None:
        for trigger_id in trigger_ids:
            task = self._tasks.get(trigger_id)
            if task is not None:
                task.cancel()

    async def _cancel_all(self, timeout_s: float) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await asyncio.sleep(0)  # the clean-ups of those cancelled before they began start
        if self._cleanups:
            await asyncio.wait(set(self._cleanups), timeout=timeout_s)

    def _give(self, result: TriggerResult) -> None:
        self._results.append(result)
        if self._on_result is not None:
            self._on_result()

    async def _run_one(self, trigger_id: int, trigger: BaseTrigger, name: str) -> None:
        def on_begin(began: float) -> None:
            self.stepping = (name, began)

        def on_step(seconds: float) -> None:
            self.stepping = None
            if seconds > BLOCKED_LOOP_S:
                log.warning(
                    "Trigger %s blocked the event loop for %.2f s: a trigger must await, "
                    "never block (use asyncio.to_thread for blocking calls)",
                    name,
                    seconds,
                )

        self._not_begun.discard(trigger_id)
        try:
            try:
                events = trigger.run()
                try:
                    event = await _timed(anext(events), on_step, on_begin)
                finally:
                    if isinstance(events, AsyncGenerator):  # its finally blocks run now
                        await _timed(events.aclose(), on_step, on_begin)
            except StopAsyncIteration:
                self._give(TriggerResult(trigger_id, error="ended without an event"))
                log.error("Trigger %s ended without an event", name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._give(TriggerResult(trigger_id, error=last_line(exc)))
                log.error("Trigger %s failed", name, exc_info=True)
            else:
                if isinstance(event, TriggerEvent):
                    self._give(TriggerResult(trigger_id, payload=event.payload))
                else:
                    error = f"yielded {type(event).__name__} {event!r:.100}, not a TriggerEvent"
                    self._give(TriggerResult(trigger_id, error=error))
                    log.error("Trigger %s %s", name, error)
        finally:
            await self._clean_up(trigger, name)

    async def _clean_up(self, trigger: BaseTrigger, name: str) -> None:
        try:
            await asyncio.wait_for(trigger.cleanup(), CLEANUP_TIMEOUT_S)
        except TimeoutError:
            log.warning("The cleanup of trigger %s took over %.0f s", name, CLEANUP_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("The cleanup of trigger %s failed", name, exc_info=True)
