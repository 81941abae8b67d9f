"""Celery brokers for tests: Redis and RabbitMQ on their default ports (or the URLs in
``HEADWATER_TEST_REDIS_URL`` / ``HEADWATER_TEST_RABBITMQ_URL``).

Each test gets a :class:`Broker` of its own: a unique key prefix for everything kept in
Redis (broker keys and results) and a unique default queue, so tests running at once never
see each other's messages. Results go to Redis for both brokers (so a restarted scheduler
reads them). A broker that cannot be reached skips the test saying so, or fails it when
``CI`` is set. What a test leaves (queues, keys) is deleted after it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("HEADWATER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("HEADWATER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@dataclass(frozen=True)
class Broker:
    """One test's broker settings (the ``[celery]`` section as environment variables)."""

    kind: str
    broker_url: str
    result_backend: str
    key_prefix: str
    default_queue: str

    def env(self) -> dict[str, str]:
        return {
            "HEADWATER__CELERY__BROKER_URL": self.broker_url,
            "HEADWATER__CELERY__RESULT_BACKEND": self.result_backend,
            "HEADWATER__CELERY__KEY_PREFIX": self.key_prefix,
            "HEADWATER__CELERY__DEFAULT_QUEUE": self.default_queue,
        }

    def queue(self, name: str) -> str:
        """A queue name of this test's own (for a task's ``queue=``)."""
        return f"{self.key_prefix}-{name}"


def _require(url: str, what: str) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 3):
            pass
    except OSError as exc:
        reason = f"{what} is not reachable at {parts.hostname}:{parts.port}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _broker(kind: str) -> Broker:
    _require(REDIS_URL, "Redis")
    prefix = f"hwtest-{uuid.uuid4().hex[:12]}"
    broker_url = REDIS_URL
    if kind == "rabbitmq":
        _require(RABBITMQ_URL, "RabbitMQ")
        broker_url = RABBITMQ_URL
    return Broker(kind, broker_url, _results_url(), prefix, f"{prefix}-default")


def _results_url() -> str:
    """Redis for results; db 1 of the Redis server (keys carry the test's prefix)."""
    parts = urlsplit(REDIS_URL)
    return parts._replace(path="/1").geturl()


def delete_keys(url: str, prefix: str) -> None:
    """Delete the keys of the Redis at ``url`` that start with ``prefix`` (a test's own)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _clean(broker: Broker, queues: list[str]) -> None:
    from kombu import Connection

    for url in (REDIS_URL, broker.result_backend):
        delete_keys(url, broker.key_prefix)
    if broker.kind == "rabbitmq":
        with Connection(broker.broker_url, connect_timeout=3) as connection:
            channel = connection.default_channel
            for queue in queues:
                try:
                    channel.queue_delete(queue)
                except Exception:
                    channel = connection.channel()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Redis, then RabbitMQ (results in Redis), each private to the test."""
    made = _broker(request.param)
    yield made
    _clean(made, [made.default_queue, made.queue("special")])


@pytest.fixture
def redis_broker() -> Iterator[Broker]:
    """Redis as broker and result backend, private to the test."""
    made = _broker("redis")
    yield made
    _clean(made, [])
