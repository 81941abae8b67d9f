""":class:`MemoryStore`: every port in process memory, with all-or-nothing units of work."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.clock import Clock, SystemClock
from headwater.store.memory.assets import MemoryAssets
from headwater.store.memory.backfills import MemoryBackfills
from headwater.store.memory.browse import MemoryBrowse
from headwater.store.memory.claims import MemoryClaims
from headwater.store.memory.config import MemoryConfig
from headwater.store.memory.core import MemoryState
from headwater.store.memory.dags import MemoryDags
from headwater.store.memory.deadlines import MemoryDeadlines
from headwater.store.memory.events import MemoryEvents
from headwater.store.memory.metrics import MemoryMetrics
from headwater.store.memory.past_runs import MemoryPastRuns
from headwater.store.memory.retention import MemoryRetention
from headwater.store.memory.state_stores import MemoryStateStores
from headwater.store.memory.task_instances import MemoryTaskInstances
from headwater.store.memory.triggers import MemoryTriggers
from headwater.store.memory.users import MemoryUsers
from headwater.store.memory.xcoms import MemoryXComs
from headwater.store.ports import Store


class MemoryStore(
    MemoryDags,
    MemoryTaskInstances,
    MemoryXComs,
    MemoryConfig,
    MemoryEvents,
    MemoryBackfills,
    MemoryClaims,
    MemoryBrowse,
    MemoryUsers,
    MemoryTriggers,
    MemoryAssets,
    MemoryRetention,
    MemoryDeadlines,
    MemoryMetrics,
    MemoryPastRuns,
    MemoryStateStores,
    Store,
):
    """Keeps copies of everything in dicts; safe to share between threads.

    ``clock`` is what operations read ``now`` from (the memory store stamps nothing itself).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._s = MemoryState()

    @contextmanager
    def unit_of_work(self) -> Iterator[Store]:
        """Every method called in the block, from this thread, is one change: other threads
        wait until it ends, and if the block raises the state is put back as it was. A unit
        inside a unit is part of it."""
        with self._lock:
            before = copy.deepcopy(self._s)
            try:
                yield self
            except BaseException:
                self._s = before
                raise
