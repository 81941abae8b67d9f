"""Fixtures of the data-retention tests: a migrated database (SQLite and PostgreSQL) that
``headwater`` commands use, with log files and XCom files on disk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.clock import FakeClock
from headwater.settings import Settings, load_settings
from headwater.store.sql import SqlStore
from retention_seeds import NOW


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """The database the commands use, on a clock at ``NOW``; XComs in the object store."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER__XCOM__BACKEND", "object_store")
    with SqlStore.from_url(db_url, clock=FakeClock(NOW)) as store:
        yield store


@pytest.fixture
def retention_settings(store: SqlStore) -> Settings:
    return load_settings()
