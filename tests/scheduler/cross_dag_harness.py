"""The fixture of the cross-DAG tests: a scheduler in process over two DAGs or more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.store.memory import MemoryStore


def cross_harness(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """A scheduler in process (in-process executor, fake clock) on a memory store
    (``kind="memory"``) or a SQLite database (``"sqlite"``: PostgreSQL runs the same store
    code in the contract tests). Each test module makes it its ``cross`` fixture."""
    from database_fixtures import _prepare

    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    clock = FakeClock(at(4, 0, 30))
    if kind == "memory":
        harness = Harness(f"sqlite:///{tmp_path / 'unused.db'}", folder, clock)
        harness.store.close()
        harness.store = MemoryStore(clock=clock)  # type: ignore[assignment]
    else:
        url = _prepare("sqlite", request, tmp_path)
        monkeypatch.setenv("HEADWATER_DATABASE_URL", url)
        harness = Harness(url, folder, clock)
    yield harness
    harness.close()
