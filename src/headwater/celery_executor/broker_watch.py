"""Noticing that the Celery broker may have lost messages: it restarted, or the scheduler's
connection to it dropped.

A Redis broker without persistence loses every message on a restart (queued ones, and the
unacknowledged ones it would have delivered again); a RabbitMQ node keeps its durable queues'
persistent messages, but one published just before it died may be lost, and a worker drops
the messages it had fetched but not started when its connection breaks. Celery tells the
sender none of this, so :class:`BrokerWatch` asks the broker itself, once per scheduler
heartbeat:

* Redis: its ``run_id`` (``INFO server``), new at every start of the server;
* RabbitMQ: a round trip on a connection kept open; a connection that had to be opened
  again (after the old one broke) counts as a restart.

:meth:`BrokerWatch.restarted` says True once each time, after the broker answers again; the
executor then sends again the attempts that had not started (the same Celery task id: a
second delivery of a try that was claimed meanwhile is refused by the claim).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["BrokerWatch"]

log = logging.getLogger(__name__)


class BrokerWatch:
    """``watch.restarted()`` once per heartbeat: True when the broker came back from a
    restart or a dropped connection since the last call that reached it."""

    def __init__(self, app: Any, broker_url: str, timeout_s: float) -> None:
        self._app = app
        self._url = broker_url
        self._timeout_s = timeout_s
        self._redis = broker_url.partition("://")[0].lower() in ("redis", "rediss")
        self._client: Any = None
        self._run_id: str | None = None
        self._connection: Any = None
        self._dropped = False
        self._down = False

    def restarted(self) -> bool:
        """True once after the broker restarted or the connection to it broke and was made
        again; False while it answers as before, or while it does not answer."""
        try:
            restarted = self._redis_restarted() if self._redis else self._amqp_restarted()
        except Exception as exc:  # the transports' errors vary: all mean "not reachable"
            if not self._down:
                log.warning(
                    "Lost the Celery broker (%s: %s); attempts not started yet are sent "
                    "again when it answers",
                    type(exc).__name__,
                    exc,
                )
            self._down = True
            self._drop()
            return False
        self._down = False
        return restarted

    def close(self) -> None:
        self._drop()
        if self._client is not None:
            self._client.close()
            self._client = None

    def _redis_restarted(self) -> bool:
        if self._client is None:
            from redis import Redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # No retries: a broker that does not answer is asked again next heartbeat.
            self._client = Redis.from_url(
                self._url,
                socket_timeout=self._timeout_s,
                socket_connect_timeout=self._timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        run_id = str(self._client.info("server")["run_id"])
        known, self._run_id = self._run_id, run_id
        return known is not None and known != run_id

    def _amqp_restarted(self) -> bool:
        if self._connection is None:
            connection = self._app.connection_for_write()
            try:
                connection.ensure_connection(max_retries=0, timeout=self._timeout_s)
            except BaseException:
                connection.release()
                raise
            self._connection = connection
        channel = self._connection.channel()  # a round trip: fails on a broken connection
        channel.close()
        dropped, self._dropped = self._dropped, False
        return dropped

    def _drop(self) -> None:
        if self._connection is None:
            return
        self._dropped = True
        try:
            self._connection.release()
        except Exception:
            pass
        self._connection = None
