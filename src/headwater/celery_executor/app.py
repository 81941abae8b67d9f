"""headwater's Celery app, built from ``[celery]``: the same for the scheduler and every worker.

The app sends JSON only (an :class:`~headwater.executors.messages.AttemptMessage`, never a
pickle), acknowledges a message only once its attempt ended (``acks_late``), takes one
message at a time per worker process (``prefetch 1``, so a long attempt holds back no other),
reports the start of each attempt itself (:func:`~headwater.celery_executor.results.write_started`:
one write, where Celery's ``task_track_started`` reads the state before each of its writes),
and gives the
Redis broker ``[celery] visibility_timeout_s``: a message whose worker died unacknowledged is
delivered again after it, found by the next sweep of a running worker (every third of the
timeout, see :func:`_unacked_sweeps`; RabbitMQ redelivers when the worker's connection
drops); the attempt's claim refuses to run it twice.

Each attempt has a Celery task id derived from its key (:func:`task_id_for`), so a redelivery,
a second send after a broker error and a restarted scheduler all name the same task.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any

from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from celery import Celery
    from headwater.engine.records import AttemptKey
    from headwater.settings_scale_out import CelerySettings

__all__ = [
    "RUN_ATTEMPT_TASK",
    "CeleryUrlError",
    "build_app",
    "check_urls",
    "queue_for",
    "shown_url",
    "task_id_for",
]

RUN_ATTEMPT_TASK = "headwater.run_attempt"
"""The name of the one Celery task: run an attempt message, return its outcome as JSON."""

_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
_RESULT_SCHEMES = ("redis", "rediss", "rpc")
_ID_NAMESPACE = uuid.UUID("6f1c1a52-5d0b-4b7e-9a49-3b2f8a3c1e07")


class CeleryUrlError(HeadwaterError):
    """A ``[celery]`` URL that names no broker or result backend headwater supports."""


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def check_urls(settings: CelerySettings) -> None:
    """Refuse, naming the setting, a broker or result URL headwater cannot use."""
    if _scheme(settings.broker_url) not in _SCHEMES:
        raise CeleryUrlError(
            f"celery.broker_url {shown_url(settings.broker_url)!r} is not a redis:// or amqp:// URL"
        )
    if _scheme(settings.result_backend) not in _RESULT_SCHEMES:
        raise CeleryUrlError(
            f"celery.result_backend {shown_url(settings.result_backend)!r} is not a redis:// or "
            "rpc:// URL"
        )


def shown_url(url: str) -> str:
    """``url`` without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"


def build_app(settings: CelerySettings) -> Celery:
    """The Celery app of ``settings`` with the attempt task registered (no connection yet)."""
    from celery import Celery
    from headwater.celery_executor.results import writes_results_itself
    from headwater.celery_executor.worker_task import run_attempt

    check_urls(settings)
    app = Celery("headwater", set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout_s}
    # A result store that does not answer is retried for about send_timeout_s, not Celery's
    # default 20 tries (the scheduler reads results again at its next poll anyway).
    tries = max(1, math.ceil(settings.send_timeout_s / 0.5))
    retry = {"max_retries": tries, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
    results: dict[str, Any] = {"retry_policy": retry}
    if _scheme(settings.broker_url).startswith("redis"):
        transport.update(_unacked_sweeps(settings.visibility_timeout_s))
    if settings.key_prefix:
        if _scheme(settings.broker_url).startswith("redis"):
            transport["global_keyprefix"] = settings.key_prefix
        results["global_keyprefix"] = settings.key_prefix
    app.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_track_started=False,  # the task says it started: results.write_started
        broker_transport_options=transport,
        result_backend_transport_options=results,
        task_default_queue=settings.default_queue,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        # When the broker connection drops, attempts running go on (their outcome goes to the
        # database; the redelivered message is refused by the claim), as today's default
        # does: pinned, as Celery 6 will cancel them instead (Celery 5 warns of that at each
        # connection loss all the same).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_timeout=settings.send_timeout_s,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        result_expires=int(max(settings.visibility_timeout_s, 86400.0)),
        enable_utc=True,
    )
    # On Redis the task writes its started marker and its result itself (one SET each, see
    # results.py); Celery still stores the failures it notices (a dead process, a time limit).
    # Not shared: a shared task would be registered in every app later made in this process
    # with the options of the first app made (another result backend's, say).
    itself = writes_results_itself(settings.result_backend)
    app.task(
        name=RUN_ATTEMPT_TASK,
        bind=True,
        shared=False,
        ignore_result=itself,
        store_errors_even_if_ignored=True,
        # The worker's "succeeded in 0.03s: ..." line shows the start of the outcome, not a
        # kilobyte of it (the attempt's own log has the details).
        resultrepr_maxsize=120,
    )(run_attempt)
    return app


def _unacked_sweeps(visibility_timeout_s: float) -> dict[str, int]:
    """How often a running worker looks for messages whose worker died unacknowledged (on
    Redis a message is delivered again only when a worker sweeps for it). kombu sweeps as a
    worker starts, then about every 100 s whatever the visibility timeout: a short timeout
    would not be honoured by the workers already running. Here: a third of the timeout,
    from 1 s to those 100 s (a sweep is one read of the index of unacknowledged messages)."""
    every_s = math.ceil(min(100.0, max(1.0, visibility_timeout_s / 3)))
    return {"unacked_restore_interval": every_s, "unacked_restore_throttle": 1}


def queue_for(task_queue: str, settings: CelerySettings) -> str:
    """The Celery queue of a task whose ``queue`` is ``task_queue``."""
    return settings.default_queue if task_queue == "default" else task_queue


def task_id_for(key: AttemptKey, settings: CelerySettings) -> str:
    """The Celery task id of attempt ``key``: the same for every send of the same try."""
    name = "\x1f".join([settings.key_prefix, *map(str, key)])
    return str(uuid.uuid5(_ID_NAMESPACE, name))
