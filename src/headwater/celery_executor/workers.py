"""Starting a Celery worker with headwater's app, and what the live workers report.

:func:`run_worker` runs a Celery worker in this process (prefork: one child process per
attempt running at once); Celery's own signal handling makes Ctrl-C or SIGTERM a warm stop
(the attempts running finish, nothing new is taken), a second one a cold stop.
:func:`workers_status` asks the live workers (a broadcast, answered within ``timeout_s``)
for their queues and the attempts they run, and the broker for the length of each queue.
Both first check that the broker answers, so an unreachable broker is one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headwater.celery_executor.app import build_app, shown_url
from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from celery import Celery
    from headwater.settings_scale_out import CelerySettings

__all__ = ["BrokerUnreachableError", "QueueLength", "WorkerReport", "run_worker", "workers_status"]

DEFAULT_HOSTNAME = "headwater@%h"
"""A worker's default node name (``%h``: this machine's host name)."""


class BrokerUnreachableError(HeadwaterError):
    """The Celery broker did not answer."""


@dataclass(frozen=True)
class WorkerReport:
    """One live worker: its node name, its queues, the attempts it runs now."""

    hostname: str
    queues: list[str]
    active: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class QueueLength:
    """Messages waiting in one queue (None: the broker does not say)."""

    queue: str
    messages: int | None


def check_broker(app: Celery, settings: CelerySettings) -> None:
    """Raise :class:`BrokerUnreachableError` naming the broker unless it answers."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=settings.send_timeout_s)
    except Exception as exc:
        raise BrokerUnreachableError(
            f"the Celery broker {shown_url(settings.broker_url)} cannot be reached "
            f"(celery.broker_url): {type(exc).__name__}: {exc}"
        ) from None


def run_worker(
    settings: CelerySettings,
    *,
    queues: list[str],
    concurrency: int,
    hostname: str | None = None,
    loglevel: str = "INFO",
) -> int:
    """Run a Celery worker on ``queues`` until it is stopped; its exit code."""
    from celery.utils.nodenames import host_format

    app = build_app(settings)
    check_broker(app, settings)
    _preload()
    worker = app.Worker(
        queues=queues,
        concurrency=concurrency,
        hostname=host_format(hostname or DEFAULT_HOSTNAME),
        loglevel=loglevel,
        pool="prefork",
        optimization="fair",
        without_gossip=True,
        without_mingle=True,
        quiet=loglevel != "INFO",  # no banner
    )
    worker.start()
    code: int = worker.exitcode or 0
    return code


def _preload() -> None:
    """Import what running an attempt needs once, here, before the pool forks its children:
    a child's first attempt then starts at once instead of importing headwater (seconds on
    a busy machine, during which its attempt has no heartbeat yet). No connection is opened:
    each child opens its own."""
    import importlib

    from headwater.scheduler.service import WORKER_PRELOAD

    for module in WORKER_PRELOAD:
        importlib.import_module(module)


def workers_status(
    settings: CelerySettings, *, timeout_s: float = 1.0
) -> tuple[list[WorkerReport], list[QueueLength]]:
    """The live workers (by node name) and the queues they listen to, with their lengths."""
    app = build_app(settings)
    check_broker(app, settings)
    try:
        inspect = app.control.inspect(timeout=timeout_s)
        queues = inspect.active_queues() or {}
        active = inspect.active() or {}
        workers = [
            WorkerReport(
                name,
                sorted(str(q.get("name")) for q in queues.get(name) or []),
                [_attempt(task) for task in active.get(name) or []],
            )
            for name in sorted(queues)
        ]
        names = sorted({settings.default_queue, *(q for w in workers for q in w.queues)})
        redis = settings.broker_url.lower().startswith(("redis://", "rediss://"))
        return workers, [QueueLength(name, _length(app, name, redis=redis)) for name in names]
    finally:
        app.close()


def _attempt(task: dict[str, Any]) -> dict[str, Any]:
    """What a worker's active task is: the attempt of its message."""
    args = task.get("args") or []
    message = args[0] if args and isinstance(args[0], dict) else {}
    return {
        "dag_id": message.get("dag_id"),
        "run_id": message.get("run_id"),
        "task_id": message.get("task_id"),
        "map_index": message.get("map_index"),
        "try_number": message.get("try_number"),
        "celery_task_id": task.get("id"),
        "pid": task.get("worker_pid"),
    }


def _length(app: Celery, queue: str, *, redis: bool) -> int | None:
    from kombu.exceptions import ChannelError

    try:
        with app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            return int(declared.message_count)
    except ChannelError:
        # Redis keeps no empty list: a queue with no message waiting is not found there.
        return 0 if redis else None
    except Exception:
        return None  # a broker that does not tell
