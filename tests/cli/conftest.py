"""Fixtures of the command-line tests that use the metadata database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.store.sql import SqlStore
from stored_dags import store_dags


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "dags"


@pytest.fixture
def store(db_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """A migrated database (SQLite and PostgreSQL) the commands use, with etl, flaky and
    partly stored; wide tables, so rows are not folded."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    with SqlStore.from_url(db_url) as store:
        store_dags(store, folder)
        yield store
