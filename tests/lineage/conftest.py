"""Fixtures of the lineage tests: a real OpenLineage receiver, settings that send to it, and
this process's emitters closed after each test (their threads never outlive it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_receiver import LineageReceiver

from headwater.lineage.emitter import close_emitters

# The scheduler tests' harness (scheduler_harness.py), for runs from a real scheduler.
sys.path.insert(0, str(Path(__file__).parents[1] / "scheduler"))


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never send requests to 127.0.0.1 through a proxy the environment may set."""
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)


@pytest.fixture(autouse=True)
def _emitters_closed() -> Iterator[None]:
    yield
    close_emitters(timeout_s=5)


@pytest.fixture
def receiver() -> Iterator[LineageReceiver]:
    server = LineageReceiver()
    yield server
    close_emitters(timeout_s=1)  # before the server goes: nothing waits on it after
    server.close()
