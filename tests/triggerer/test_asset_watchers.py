"""Asset watchers under a real triggerer, on SQLite, with a fake clock: a file dropped where a
FileDeleteTrigger watches becomes an asset event (the file deleted, the watcher named in its
extra), a scheduler tick creates the consuming DAG's run, the watcher starts again for the
next file, and pausing the DAG stops it. Several triggerers share the watchers: each runs on
the one that claimed it, and moves when that one stops or dies. The triggers run on the real
asyncio loop (a short poke interval); every wait on them has a deadline."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from headwater.clock import FakeClock
from headwater.scheduler.service import build_scheduler
from headwater.settings import load_settings
from headwater.settings_daemons import TriggererSettings
from headwater.store.assets import AssetEventFilter
from headwater.store.sql import SqlStore
from headwater.triggerer import Triggerer
from stored_dags import scan_here

DAG_FILE = """
from datetime import UTC, datetime

from headwater import DAG, Asset
from headwater.authoring.asset_watchers import AssetWatcher
from headwater.operators import EmptyOperator
from headwater.triggers.file import FileDeleteTrigger

INBOX = Asset(
    "inbox",
    watchers=[AssetWatcher(name="inbox_flag",
                           trigger=FileDeleteTrigger(filepath={flag!r}, poke_interval=0.02))],
)

with DAG("load_inbox", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=[INBOX]):
    EmptyOperator(task_id="load")
"""


@pytest.fixture
def store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path, clock: FakeClock
) -> Iterator[SqlStore]:
    shutil.copyfile(sqlite_template, tmp_path / "watch.db")
    url = f"sqlite:///{tmp_path / 'watch.db'}"
    monkeypatch.setenv("HEADWATER_DATABASE_URL", url)
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    sql = SqlStore.from_url(url, clock=clock)
    yield sql
    sql.close()


@pytest.fixture
def triggerer(store: SqlStore, clock: FakeClock) -> Iterator[Triggerer]:
    made = Triggerer(store, TriggererSettings(), clock=clock, name="t1")
    made.start()
    yield made
    made.stop()


def _process(store: SqlStore, folder: Path, flag: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "inbox.py").write_text(textwrap.dedent(DAG_FILE.format(flag=str(flag))))
    report = scan_here(store, folder)
    assert not report.errors, store.list_import_errors()


def _written_until(triggerer: Triggerer, done: Callable[[], bool]) -> None:
    """Write results as they come until ``done()`` (10 s at most)."""
    for _ in range(100):
        triggerer.write_results()
        if done():
            return
        triggerer.wait_for_results(0.1)
    raise AssertionError("the watcher did not come to the event expected")


def _events(store: SqlStore) -> list[dict[str, object]]:
    return [e.extra for e in store.list_asset_events(AssetEventFilter(uri="inbox"))]


def test_a_watcher_event_becomes_an_asset_event_and_a_run(
    store: SqlStore, triggerer: Triggerer, clock: FakeClock, tmp_path: Path
) -> None:
    flag = tmp_path / "inbox.flag"
    _process(store, tmp_path / "dags", flag)
    woken: list[str] = []
    triggerer.on_fired = lambda: woken.append("wake")
    triggerer.tick()
    assert list(triggerer.watchers.running) == [("inbox", "inbox_flag")]
    assert not triggerer.wait_for_results(0.1)  # no file yet: no event
    assert _events(store) == []

    flag.write_text("go")
    _written_until(triggerer, lambda: len(_events(store)) == 1)
    assert not flag.exists()  # taken
    assert _events(store) == [
        {"from_trigger": True, "watcher": "inbox_flag", "payload": {"filepath": str(flag)}}
    ]
    assert woken == ["wake"]
    [queued] = store.queued_asset_events("load_inbox")
    assert queued.uri == "inbox"

    # The scheduler's asset scheduling creates the run from the event.
    scheduler = build_scheduler(load_settings(), store=store, clock=clock)
    scheduler.start()
    try:
        clock.advance(timedelta(seconds=1))
        scheduler.tick()
        runs = store.list_dag_runs("load_inbox")
        assert [r.run_type for r in runs] == ["asset_triggered"]
        assert store.queued_asset_events("load_inbox") == []
    finally:
        scheduler.stop()

    # The watcher started again: the next file is a second event.
    assert ("inbox", "inbox_flag") in triggerer.watchers.running
    flag.write_text("again")
    _written_until(triggerer, lambda: len(_events(store)) == 2)
    assert not flag.exists()


def test_pausing_the_dag_stops_its_watchers(
    store: SqlStore, triggerer: Triggerer, tmp_path: Path
) -> None:
    flag = tmp_path / "inbox.flag"
    _process(store, tmp_path / "dags", flag)
    triggerer.tick()
    assert ("inbox", "inbox_flag") in triggerer.watchers.running
    assert store.set_dag_paused("load_inbox", True)
    triggerer.tick()
    assert triggerer.watchers.running == {}
    for _ in range(100):  # its asyncio task ends on the loop (10 s at most)
        if not any(i < 0 for i in list(triggerer.runner._tasks)):
            break
        triggerer.wait_for_results(0.05)
    else:
        raise AssertionError("the paused DAG's watcher did not stop")
    flag.write_text("ignored")
    triggerer.wait_for_results(0.2)
    triggerer.write_results()
    assert flag.exists() and _events(store) == []
    # Unpaused: it runs again and takes the file.
    assert store.set_dag_paused("load_inbox", False)
    triggerer.tick()
    _written_until(triggerer, lambda: len(_events(store)) == 1)
    assert not flag.exists()


def test_a_failing_watcher_is_retried_later(
    store: SqlStore,
    triggerer: Triggerer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "a_dir").mkdir()
    _process(store, tmp_path / "dags", tmp_path / "a_dir" / "missing" / "x")
    # Make the trigger fail: its classpath is gone, as if the package was removed.
    row = store.get_dag("load_inbox")
    assert row is not None and row.serialized is not None
    watcher = row.serialized["dag"]["asset_condition"]["all"][0]["asset"]["watchers"][0]
    watcher["trigger"]["classpath"] = "headwater.triggers.file.GoneTrigger"
    row.serialized["dag"]["asset_condition"]["all"][0]["asset"]["watchers"][0] = watcher
    row.source_hash = "changed"
    store.upsert_dag(row)
    with caplog.at_level("ERROR"):
        triggerer.tick()
        assert triggerer.watchers.running == {}
        triggerer.tick()  # not yet due again
        clock.advance(timedelta(seconds=61))
        triggerer.tick()  # tried again (and fails again): still nothing runs, no event
    assert triggerer.watchers.running == {}
    assert _events(store) == []
    failures = [r.getMessage() for r in caplog.records if "cannot start" in r.getMessage()]
    assert len(failures) == 2
    assert "inbox_flag" in failures[0] and "GoneTrigger" in failures[0]


# -- several triggerers share the watchers ---------------------------------------------------

WATCHER = ("inbox", "inbox_flag")


@pytest.fixture
def pair(store: SqlStore, clock: FakeClock) -> Iterator[tuple[Triggerer, Triggerer]]:
    settings = TriggererSettings(lease_s=30, heartbeat_interval_s=5)
    one = Triggerer(store, settings, clock=clock, name="t1")
    two = Triggerer(store, settings, clock=clock, name="t2")
    for triggerer in (one, two):
        triggerer.start()
    yield one, two
    for triggerer in (one, two):
        triggerer.stop()


def test_a_watcher_runs_on_one_triggerer_and_moves_when_it_stops(
    store: SqlStore, pair: tuple[Triggerer, Triggerer], clock: FakeClock, tmp_path: Path
) -> None:
    one, two = pair
    flag = tmp_path / "inbox.flag"
    _process(store, tmp_path / "dags", flag)
    one.tick()
    two.tick()
    assert list(one.watchers.running) == [WATCHER]
    assert list(two.watchers.running) == []
    flag.write_text("go")
    _written_until(one, lambda: len(_events(store)) == 1)
    assert len(_events(store)) == 1  # one event: only one triggerer watched

    one.stop()  # releases its claims: the other starts the watcher at its next claim
    clock.advance(timedelta(seconds=6))
    two.tick()
    assert list(two.watchers.running) == [WATCHER]
    flag.write_text("again")
    _written_until(two, lambda: len(_events(store)) == 2)


def test_a_triggerer_that_died_loses_its_watchers_when_their_leases_run_out(
    store: SqlStore, pair: tuple[Triggerer, Triggerer], clock: FakeClock, tmp_path: Path
) -> None:
    one, two = pair
    _process(store, tmp_path / "dags", tmp_path / "inbox.flag")
    one.tick()
    two.tick()
    assert list(one.watchers.running) == [WATCHER]
    # one stops ticking (hung, or killed without releasing): two waits for the lease.
    clock.advance(timedelta(seconds=20))
    two.tick()
    assert list(two.watchers.running) == []
    clock.advance(timedelta(seconds=15))  # 35 s: the lease (30 s) ran out
    two.tick()
    assert list(two.watchers.running) == [WATCHER]
    # one comes back: its claim is gone, so it stops its copy of the watcher.
    one.tick()
    assert list(one.watchers.running) == []
    assert list(two.watchers.running) == [WATCHER]
