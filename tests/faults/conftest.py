"""The fault tests' database: this test's PostgreSQL database, and the faults made on it;
and the Celery tests' brokers (``tests/celery/brokers.py``), for the fault tests with Celery
workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_harness import DatabaseFaults

sys.path.insert(0, str(Path(__file__).parents[1] / "celery"))

from brokers import redis_broker  # noqa: F401 - a fixture


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """This test's PostgreSQL database, empty and migrated (``db_url``'s PostgreSQL case)."""
    from database_fixtures import _prepare

    return _prepare("postgresql", request, tmp_path)


@pytest.fixture
def faults(postgres_url: str, postgres_admin_url: str) -> Iterator[DatabaseFaults]:
    made = DatabaseFaults(postgres_url, postgres_admin_url)
    yield made
    made.close()
