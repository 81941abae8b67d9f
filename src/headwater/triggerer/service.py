"""Wiring the triggerer for the CLI: ``headwater triggerer`` runs one in its main thread;
``headwater scheduler`` and ``standalone`` run one beside the scheduler, in a thread
(:class:`TriggererThread`), which wakes the scheduler when a trigger fires.

The triggerer imports triggers by classpath: from installed packages, or from modules in
the DAG folder, which is put on ``sys.path`` as the DAG processor and workers do (a trigger
class defined in a DAG file itself cannot be imported again by name).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from headwater.db.opening import open_store
from headwater.triggerer.triggerer import Triggerer

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.scheduler.scheduler import Scheduler
    from headwater.settings import Settings
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

THREAD_STOP_WAIT_S = 20.0
"""How long the scheduler waits for the triggerer beside it to stop (its triggers clean up
within 10 s; then it writes their events and releases its claims)."""


def build_triggerer(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    on_fired: Callable[[], None] | None = None,
    checked: bool = False,
) -> Triggerer:
    """The triggerer of ``settings`` over ``store`` (default: the settings' database, which
    must be migrated unless the caller ``checked`` it)."""
    folder = str(settings.dags_folder)
    if folder not in sys.path:
        sys.path.append(folder)
    return Triggerer(
        store or open_store(settings, clock=clock, checked=checked),
        settings.triggerer,
        clock=clock,
        on_fired=on_fired,
    )


class TriggererThread:
    """A triggerer in a thread of this process (beside a scheduler), over a store of its
    own; it stops when ``should_stop()`` or :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        should_stop: Callable[[], bool],
        *,
        on_fired: Callable[[], None] | None = None,
    ) -> None:
        self.triggerer = build_triggerer(settings, on_fired=on_fired, checked=True)
        self._should_stop = should_stop
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="headwater-triggerer", daemon=True)

    def start(self) -> TriggererThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.triggerer.run(lambda: self._stopping.is_set() or self._should_stop())
        except Exception:
            log.exception("The triggerer stopped; deferred tasks wait until it runs again")
        finally:
            self.triggerer.store.close()

    def stop(self) -> None:
        """Stop the triggerer (releasing its claims) and wait for it."""
        self._stopping.set()
        self._thread.join(timeout=THREAD_STOP_WAIT_S)
        if self._thread.is_alive():
            log.warning("The triggerer did not stop within %.0f s", THREAD_STOP_WAIT_S)


def start_beside(
    scheduler: Scheduler, settings: Settings, should_stop: Callable[[], bool]
) -> TriggererThread:
    """A triggerer in a thread beside ``scheduler``, waking it when a trigger fires so that
    the task resumes at once."""
    return TriggererThread(settings, should_stop, on_fired=scheduler.wake).start()
