"""The object-store XCom backend switched on for each test, its files under the test's home."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture
def objects_root(headwater_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``[xcom] backend = "object_store"`` with a small threshold; the store's default
    folder (``<home>/xcom_objects``), which the test may look into."""
    monkeypatch.setenv("HEADWATER__XCOM__BACKEND", "object_store")
    monkeypatch.setenv("HEADWATER__XCOM__OBJECT_STORE_THRESHOLD_BYTES", "1000")
    return headwater_home / "xcom_objects"


# The scheduler harness of tests/scheduler, shared rather than copied.
sys.path.insert(0, str(Path(__file__).parents[2] / "scheduler"))
