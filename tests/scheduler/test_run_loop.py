"""``Scheduler.run``, the real loop on the system clock: runs queued from elsewhere (the CLI,
a backfill) start without waiting for the next full pass, which here is an hour away."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import HEADER, wait_for

from headwater.clock import SystemClock
from headwater.operations import trigger_run
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import build_scheduler
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from stored_dags import scan_here

DAGS = """
with DAG("quick", start_date=START, max_active_runs=1):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


class _Running:
    """A scheduler looping in a thread; counts its full passes."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.passes = 0
        self._stop = threading.Event()
        tick = scheduler.tick

        def counted_tick() -> None:
            tick()
            self.passes += 1

        scheduler.tick = counted_tick  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=scheduler.run, args=(self._stop.is_set,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


@pytest.fixture
def looping(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SqlStore, _Running]]:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "quick.py").write_text(HEADER + DAGS)
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    monkeypatch.setenv("HEADWATER__SCHEDULER__LOOP_INTERVAL_S", "3600")
    monkeypatch.setenv("HEADWATER__SCHEDULER__NEW_RUN_CHECK_INTERVAL_S", "0.02")
    store = SqlStore.from_url(db_url)
    assert not scan_here(store, folder).errors
    running = _Running(build_scheduler(load_settings(), store=store, clock=SystemClock()))
    try:
        wait_for(lambda: running.passes >= 1, "the first full pass")
        yield store, running
    finally:
        running.stop()
        store.close()


def _state(store: SqlStore, run_id: str) -> str:
    run = store.get_dag_run("quick", run_id)
    assert run is not None
    return run.state.value


def test_a_run_triggered_after_a_pass_starts_without_waiting_for_the_next(
    looping: tuple[SqlStore, _Running],
) -> None:
    store, running = looping
    run = trigger_run(store, "quick", now=SystemClock().now())
    wait_for(lambda: _state(store, run.run_id) == "success", "the triggered run to succeed")
    assert running.passes == 2  # the one that saw the new run, brought forward
    assert {ti.state.value for ti in store.get_task_instances("quick", run.run_id)} == {"success"}


def test_a_queued_run_starts_as_soon_as_the_run_ahead_of_it_ends(
    looping: tuple[SqlStore, _Running],
) -> None:
    store, running = looping
    now = SystemClock().now()
    runs = [trigger_run(store, "quick", run_id=f"r{i}", now=now) for i in range(3)]
    for run in runs:  # max_active_runs=1: one after the other, each started by a pass
        wait_for(lambda run=run: _state(store, run.run_id) == "success", f"{run.run_id} to end")
    assert running.passes >= 4
