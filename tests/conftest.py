"""Shared fixtures: every test gets its own HEADWATER_HOME, so logs never leak between tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.clock import FakeClock
from headwater.settings import Settings, load_settings

pytest_plugins = ["database_fixtures", "web_fixtures", "account_fixtures", "signal_guard"]

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def headwater_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "headwater-home"
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    # `standalone` serves the UI: on a free port, so tests running at once never clash.
    monkeypatch.setenv("HEADWATER__API__PORT", "0")
    for name in ("HEADWATER_DAGS_FOLDER", "HEADWATER__CORE__DAGS_FOLDER"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def settings(headwater_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
