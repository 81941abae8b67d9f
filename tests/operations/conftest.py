"""Fixtures of the operations' tests: a migrated database holding the DAGs of ``stored_dags``."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.store.sql import SqlStore
from stored_dags import store_dags


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "dags"


@pytest.fixture
def store(sql_store: SqlStore, folder: Path) -> SqlStore:
    """``sql_store`` (SQLite and PostgreSQL) with the DAGs etl, flaky and partly stored."""
    store_dags(sql_store, folder)
    return sql_store
