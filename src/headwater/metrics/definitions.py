"""Every metric headwater exports, in one place: names (``headwater_*``), types, help texts
and labels.

Metrics measured as things happen (the scheduler's loop, attempts, parses) live in
:data:`REGISTRY`, headwater's own registry (not prometheus_client's global one, so a library
that registers its metrics there does not show up, or clash, in ours); the standard
``process_*`` metrics of the serving process are in it too. Counts read from the metadata
database at scrape time (runs and task instances by state, pools, import errors, triggers,
notifier failures) are described by :data:`STORE_FAMILIES` and collected by
:mod:`~headwater.metrics.store_counts`.

Label sets are bounded: states and pools are few; ``dag_id`` and ``task_id`` grow with the
DAGs deployed (one series per task, or per task and bucket for a histogram), never with runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

__all__ = [
    "DAG_FILE_PARSE_SECONDS",
    "DAG_RUNS_ENDED",
    "DEADLINE_MISSES",
    "DOWNSTREAM_START_GAP_SECONDS",
    "EXECUTOR_OPEN_SLOTS",
    "QUEUED_TO_START_SECONDS",
    "REGISTRY",
    "SCHEDULER_LOOP_SECONDS",
    "STORE_FAMILIES",
    "TASK_ATTEMPTS_ENDED",
    "TASK_DURATION_SECONDS",
    "FamilySpec",
    "metric_families",
]

REGISTRY = CollectorRegistry()
"""headwater's registry: what ``/metrics`` serves, with the store's counts added."""

ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes...

_DEFINED: dict[str, tuple[str, tuple[str, ...]]] = {}
"""Each metric of :data:`REGISTRY` by the name of its samples: (type, labels)."""


def _histogram(
    name: str, help: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()
) -> Histogram:
    _DEFINED[name] = ("histogram", labels)
    return Histogram(name, help, labels, buckets=buckets, registry=REGISTRY)


def _counter(name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
    _DEFINED[name] = ("counter", labels)
    return Counter(name, help, labels, registry=REGISTRY)


def _gauge(name: str, help: str, labels: tuple[str, ...] = ()) -> Gauge:
    _DEFINED[name] = ("gauge", labels)
    return Gauge(name, help, labels, registry=REGISTRY)


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400)

SCHEDULER_LOOP_SECONDS = _histogram(
    "headwater_scheduler_loop_duration_seconds",
    "Seconds one full pass of the scheduler's loop took (DAGs, runs, queueing, timeouts).",
    _LATENCY_BUCKETS,
)
QUEUED_TO_START_SECONDS = _histogram(
    "headwater_task_queued_to_start_seconds",
    "Seconds from an attempt being queued to the executor to its start in a worker.",
    _LATENCY_BUCKETS,
)
DOWNSTREAM_START_GAP_SECONDS = _histogram(
    "headwater_task_downstream_start_gap_seconds",
    "Seconds from the end of a task's last upstream task to the start of its first try.",
    _LATENCY_BUCKETS,
)
TASK_DURATION_SECONDS = _histogram(
    "headwater_task_duration_seconds",
    "Seconds each attempt of a task ran, from its start to its end (whatever its outcome).",
    _DURATION_BUCKETS,
    ("dag_id", "task_id"),
)
TASK_ATTEMPTS_ENDED = _counter(
    "headwater_task_attempts_ended_total",
    "Attempts that ended, by the state their task instance went to "
    "(success, failed, up_for_retry, skipped, deferred, up_for_reschedule).",
    ("state",),
)
DAG_RUNS_ENDED = _counter(
    "headwater_dag_runs_ended_total",
    "DAG runs this scheduler ended, by final state (success, failed).",
    ("state",),
)
EXECUTOR_OPEN_SLOTS = _gauge(
    "headwater_executor_open_slots",
    "Attempts the scheduler's executor may still take: parallelism minus those queued or running.",
)
DAG_FILE_PARSE_SECONDS = _histogram(
    "headwater_dag_file_parse_duration_seconds",
    "Seconds the DAG processor took to import one DAG file (in its child process).",
    (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
DEADLINE_MISSES = _counter(
    "headwater_deadline_misses_total",
    "DAG-run deadlines and task SLAs missed, counted once each when the miss is recorded.",
    ("dag_id",),
)


@dataclass(frozen=True)
class FamilySpec:
    """A metric family counted in the store at scrape time."""

    name: str
    type: str
    """``gauge`` or ``counter`` (a counter's samples end in ``_total``)."""
    help: str
    labels: tuple[str, ...]


DAG_RUNS = FamilySpec(
    "headwater_dag_runs", "gauge", "DAG runs in the database, by state.", ("state",)
)
TASK_INSTANCES = FamilySpec(
    "headwater_task_instances", "gauge", "Task instances in the database, by state.", ("state",)
)
POOL_SLOTS = FamilySpec("headwater_pool_slots", "gauge", "Slots of each pool.", ("pool",))
POOL_USED_SLOTS = FamilySpec(
    "headwater_pool_used_slots",
    "gauge",
    "Slots of each pool held by running task instances.",
    ("pool",),
)
POOL_QUEUED_SLOTS = FamilySpec(
    "headwater_pool_queued_slots",
    "gauge",
    "Slots of each pool held by queued task instances (handed to the executor, not started).",
    ("pool",),
)
POOL_OPEN_SLOTS = FamilySpec(
    "headwater_pool_open_slots",
    "gauge",
    "Slots of each pool that are free: slots minus used and queued slots (at least 0).",
    ("pool",),
)
IMPORT_ERRORS = FamilySpec(
    "headwater_dag_import_errors",
    "gauge",
    "DAG files that failed to import at their last parse.",
    (),
)
WAITING_TRIGGERS = FamilySpec(
    "headwater_triggerer_waiting_triggers",
    "gauge",
    "Triggers of deferred tasks waiting to fire (run by a triggerer, or waiting for one).",
    (),
)
NOTIFICATION_FAILURES = FamilySpec(
    "headwater_notification_failures",
    "counter",
    "Notifications that failed after their last try (event log kind notification_failed), "
    'per DAG ("" when the event names none).',
    ("dag_id",),
)

STORE_FAMILIES = (
    DAG_RUNS,
    TASK_INSTANCES,
    POOL_SLOTS,
    POOL_USED_SLOTS,
    POOL_QUEUED_SLOTS,
    POOL_OPEN_SLOTS,
    IMPORT_ERRORS,
    WAITING_TRIGGERS,
    NOTIFICATION_FAILURES,
)


def metric_families() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every ``headwater_*`` family by the name its samples carry (a counter's ends in
    ``_total``; a histogram's samples add ``_bucket``, ``_sum`` and ``_count``): its type
    and labels. The docs and the Grafana dashboard are checked against it."""
    families = dict(_DEFINED)
    for spec in STORE_FAMILIES:
        name = spec.name + ("_total" if spec.type == "counter" else "")
        families[name] = (spec.type, spec.labels)
    return families
