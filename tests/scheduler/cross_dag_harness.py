"""The fixture of the cross-DAG tests: a scheduler in process over two DAGs or more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.store.memory import MemoryStore


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """A scheduler in process (in-process executor, fake clock) on a memory store or a
    SQLite database."""
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    clock = FakeClock(at(4, 0, 30))
    if request.param == "memory":
        harness = Harness(f"sqlite:///{tmp_path / 'unused.db'}", folder, clock)
        harness.store.close()
        harness.store = MemoryStore(clock=clock)  # type: ignore[assignment]
    else:
        url: str = request.getfixturevalue("db_url")
        monkeypatch.setenv("HEADWATER_DATABASE_URL", url)
        harness = Harness(url, folder, clock)
    yield harness
    harness.close()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite only here (PostgreSQL runs the same store code in the contract tests)."""
    from database_fixtures import _prepare

    return _prepare("sqlite", request, tmp_path)
