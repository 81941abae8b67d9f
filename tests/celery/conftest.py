"""The Celery tests' fixtures: a private broker (``brokers``), PostgreSQL, real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import Broker, broker, redis_broker  # noqa: F401 - fixtures
from celery_harness import Cluster


@pytest.fixture
def cluster(db_url: str, tmp_path: Path, broker: Broker) -> Iterator[Cluster]:  # noqa: F811
    made = Cluster(db_url, tmp_path, broker)
    yield made
    made.close()


@pytest.fixture
def redis_cluster(
    db_url: str,
    tmp_path: Path,
    redis_broker: Broker,  # noqa: F811
) -> Iterator[Cluster]:
    made = Cluster(db_url, tmp_path, redis_broker)
    yield made
    made.close()
