"""The scheduler service's metrics server (:func:`start_metrics_server`): none on port 0,
served over HTTP from a daemon thread otherwise, stopped cleanly, and a clear error naming
the address when the port is taken."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from scraping import free_port, scrape_url, value

from headwater.exceptions import HeadwaterError
from headwater.scheduler.service import start_metrics_server
from headwater.settings import Settings
from headwater.store.memory import MemoryStore
from headwater.store.sql import SqlStore


def test_port_zero_serves_nothing(settings: Settings) -> None:
    assert start_metrics_server(settings, MemoryStore(), port=0) is None


def test_it_serves_the_store_counts_until_stopped(settings: Settings) -> None:
    port = free_port()
    server = start_metrics_server(settings, MemoryStore(), port=port)
    assert server is not None and server.thread.daemon
    try:
        samples = scrape_url(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "headwater_pool_slots", pool="default_pool") == 128
        assert value(samples, "headwater_dag_runs", state="running") == 0
    finally:
        server.stop()
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again


def test_a_taken_port_is_refused_by_name(settings: Settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(HeadwaterError, match=rf"cannot serve metrics on 127\.0\.0\.1:{port}"):
            start_metrics_server(settings, MemoryStore(), port=port)


def test_a_database_that_cannot_be_read_leaves_the_process_metrics(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty SQLite file (never migrated): the counts fail, the page still answers."""
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    port = free_port()
    server = start_metrics_server(settings, store, port=port)
    assert server is not None
    try:
        samples = scrape_url(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.stop()
        store.close()
    assert ("headwater_executor_open_slots", frozenset()) in samples
    assert not any(name == "headwater_dag_runs" for name, _ in samples)
    assert "the database's counts could not be read" in caplog.text
