"""Fixtures of the services' tests: a context on a migrated database (SQLite, and PostgreSQL
when CI is set) holding the DAGs of ``stored_dags``, with the test's fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.services.context import ServiceContext
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import store_dags


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "dags"


@pytest.fixture
def ctx(sql_store: SqlStore, folder: Path, settings: Settings) -> ServiceContext:
    """A context on ``sql_store`` with the DAGs etl, flaky and partly stored."""
    store_dags(sql_store, folder)
    return ServiceContext(settings, sql_store)
