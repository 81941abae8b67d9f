"""The settings of scale-out (issue 15): Celery workers on Redis or RabbitMQ. Part of the one
settings tree (:mod:`headwater.settings`), read and checked the same way; kept here so that
module stays one job and a readable length. The several-schedulers settings are in
``[scheduler]`` (``run_claim_lease_s``).
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.settings_checks import DAY_S, setting

__all__ = ["CelerySettings"]


@dataclass(frozen=True)
class CelerySettings:
    broker_url: str = setting(
        "redis://127.0.0.1:6379/0",
        "The Celery broker: redis://host:port/db or amqp://user:password@host:port/vhost "
        "(RabbitMQ). Read by the scheduler (executor = 'celery') and by every worker.",
    )
    result_backend: str = setting(
        "redis://127.0.0.1:6379/1",
        "Where Celery workers leave each attempt's result for the scheduler: "
        "redis://host:port/db, or rpc:// with a RabbitMQ broker.",
    )
    default_queue: str = setting(
        "default",
        "The queue of tasks whose queue is 'default' (a task's queue= routes it elsewhere).",
    )
    worker_concurrency: int = setting(
        16,
        "Attempts one `headwater celery worker` runs at once (its --concurrency wins).",
        minimum=1,
        maximum=1024,
    )
    visibility_timeout_s: float = setting(
        21600.0,
        "Redis broker: seconds before a message that no worker acknowledged (its worker died "
        "in the attempt) is delivered again (running workers look every third of it, at most "
        "every 100 s). The attempt's claim refuses a second run; the "
        "scheduler fails a dead worker's attempt after [scheduler] task_heartbeat_timeout_s.",
        minimum=1.0,
        maximum=7 * DAY_S,
    )
    send_timeout_s: float = setting(
        5.0,
        "Seconds the scheduler waits for the broker to take one attempt before it puts the "
        "attempt back and tries again on a later pass.",
        minimum=0.1,
        maximum=600.0,
    )
    time_limit_allowance_s: float = setting(
        10.0,
        "Added to a task's execution_timeout and [scheduler] kill_grace_s for Celery's hard "
        "time limit (the backstop for a task that ignores the runtime's own timeout): the "
        "time a worker may take to import the DAG file before that timeout starts.",
        minimum=0.0,
        maximum=3600.0,
    )
    key_prefix: str = setting(
        "",
        "A prefix for every key headwater's Celery app keeps in Redis (broker and results) "
        "and for its Celery task ids, so that two deployments (or tests) can share one Redis. "
        "Scheduler and workers must use the same.",
    )
