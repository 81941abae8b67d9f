"""Fixtures of the connection and variable tests: a migrated database the commands use, and
Fernet keys set the way people set them (``HEADWATER__SECRETS__FERNET_KEY``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from headwater.secrets import fernet
from headwater.store.sql import SqlStore

KEY_VARIABLE = "HEADWATER__SECRETS__FERNET_KEY"


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """A migrated database (SQLite and PostgreSQL) that the commands use too."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    with SqlStore.from_url(db_url) as store:
        yield store


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database of this test's own (for reading the file's bytes)."""
    path = tmp_path / "sqlite" / "headwater.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``use_keys(k1, k0)`` sets the setting to "k1,k0"; ``use_keys()`` unsets it."""

    def use(*keys: str) -> None:
        if keys:
            monkeypatch.setenv(KEY_VARIABLE, ",".join(keys))
        else:
            monkeypatch.delenv(KEY_VARIABLE, raising=False)

    use()
    return use


@pytest.fixture
def new_key() -> Callable[[], str]:
    return lambda: Fernet.generate_key().decode()


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: the stored-in-clear warning has not been given yet."""
    monkeypatch.setattr(fernet, "_warned", False)
