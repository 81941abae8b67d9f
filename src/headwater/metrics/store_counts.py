"""The counts read from the metadata database when ``/metrics`` is scraped.

:class:`StoreCounts` is a prometheus_client collector over the store's metrics port
(:class:`~headwater.store.metrics.MetricsCounts`, plus the pool and trigger counts the
scheduler already uses): a handful of grouped ``COUNT`` queries per scrape, none per run or
task. Every state is reported, at 0 when no row is in it, so a dashboard's series never
vanish. Notifier failures are a counter: each scrape reads only the events recorded since the
last one (by event id) and adds them up, so old rows are never counted again and removing old
events (``db clean``) never makes it go down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.metrics.definitions import (
    DAG_RUNS,
    IMPORT_ERRORS,
    NOTIFICATION_FAILURES,
    POOL_OPEN_SLOTS,
    POOL_QUEUED_SLOTS,
    POOL_SLOTS,
    POOL_USED_SLOTS,
    TASK_INSTANCES,
    WAITING_TRIGGERS,
    FamilySpec,
)

if TYPE_CHECKING:
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

NOTIFICATION_FAILED = "notification_failed"
"""The event log kind of a notification that failed after its last try."""


class StoreCounts(Collector):
    """Collects the store's counts at each scrape (from the thread serving it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._notification_failures: dict[str, int] = {}
        self._last_event_id = 0

    def collect(self) -> Iterator[Metric]:
        """The store's families; none when the database cannot be read (logged), so the
        endpoint still serves what the process measured."""
        try:
            families = self._read()
        except Exception as exc:
            log.warning("/metrics: the database's counts could not be read: %s", exc)
            return
        yield from families

    def _read(self) -> list[Metric]:
        store = self._store
        return [
            _by_label(DAG_RUNS, _every_state(DagRunState, store.count_runs_by_state())),
            _by_label(TASK_INSTANCES, _every_state(TaskInstanceState, store.count_tis_by_state())),
            *self._pools(),
            _single(IMPORT_ERRORS, store.count_import_error_files()),
            _single(WAITING_TRIGGERS, store.count_waiting_triggers()),
            self._notifier_failures(),
        ]

    def _pools(self) -> Iterator[Metric]:
        store = self._store
        slots = {pool.name: pool.slots for pool in store.list_pools()}
        used = store.count_tis_by_pool([TaskInstanceState.RUNNING])
        queued = store.count_tis_by_pool([TaskInstanceState.QUEUED])
        yield _by_label(POOL_SLOTS, slots)
        yield _by_label(POOL_USED_SLOTS, {pool: used.get(pool, 0) for pool in slots})
        yield _by_label(POOL_QUEUED_SLOTS, {pool: queued.get(pool, 0) for pool in slots})
        free = {
            pool: max(size - used.get(pool, 0) - queued.get(pool, 0), 0)
            for pool, size in slots.items()
        }
        yield _by_label(POOL_OPEN_SLOTS, free)

    def _notifier_failures(self) -> Metric:
        with self._lock:  # two scrapes at once must not count the same events twice
            new = self._store.count_events_after(NOTIFICATION_FAILED, self._last_event_id)
            self._last_event_id = new.last_id
            for dag_id, count in new.by_dag.items():
                self._notification_failures[dag_id] = (
                    self._notification_failures.get(dag_id, 0) + count
                )
            totals = dict(self._notification_failures)
        family = CounterMetricFamily(
            NOTIFICATION_FAILURES.name, NOTIFICATION_FAILURES.help, labels=["dag_id"]
        )
        for dag_id, count in sorted(totals.items()):
            family.add_metric([dag_id], count)
        return family


def _every_state(
    states: type[DagRunState] | type[TaskInstanceState], counts: dict[str, int]
) -> dict[str, int]:
    return {state.value: counts.get(state.value, 0) for state in states}


def _by_label(spec: FamilySpec, values: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family


def _single(spec: FamilySpec, value: int) -> Metric:
    return GaugeMetricFamily(spec.name, spec.help, value=value)
