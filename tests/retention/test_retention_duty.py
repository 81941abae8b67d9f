"""The scheduler's daily clean-up (``[retention] older_than_days``): once per interval, in a
thread of its own, its last time kept across restarts; and a DAG with ``catchup=True`` whose
old runs were removed never gets them again. On SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from retention_files import every_run
from sqlalchemy import text

from db_records import make_run
from headwater.clock import FakeClock
from headwater.engine.states import DagRunState
from headwater.scheduler.periodic_duties import build_duties
from headwater.scheduler.retention import RetentionDuty
from headwater.scheduler.service import build_scheduler
from headwater.settings import Settings, load_settings
from headwater.store.sql import SqlStore
from retention_seeds import KEPT_RUNS, NOW, seed

sys.path.insert(0, str(Path(__file__).parents[1] / "scheduler"))
from scheduler_harness import Harness, at, wait_for

DAY = timedelta(days=1)


@pytest.fixture
def daily(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HEADWATER__RETENTION__OLDER_THAN_DAYS", "90")
    return load_settings()


def _old_run(store: SqlStore, run_id: str) -> None:
    store.create_dag_run(
        make_run("etl", run_id, 4, state=DagRunState.SUCCESS, end_date=NOW - 100 * DAY), []
    )


def _cleanups(store: SqlStore) -> list[tuple[object, str | None]]:
    return [(e.at, e.actor) for e in store.list_events(kind="db_clean")]


def _tick(duty: RetentionDuty, now: object) -> None:
    duty.tick(now)  # type: ignore[arg-type]
    assert duty.wait(30)


def test_cleans_once_per_interval_and_remembers_across_restarts(
    store: SqlStore, daily: Settings
) -> None:
    seed(store)
    duty = RetentionDuty(store, daily)
    _tick(duty, NOW)  # never cleaned: cleans on its first tick
    assert every_run(store) == KEPT_RUNS
    assert _cleanups(store) == [(NOW, "scheduler")]

    _old_run(store, "late")
    _tick(duty, NOW + DAY - timedelta(minutes=1))
    assert ("etl", "late") in every_run(store)  # not a day yet
    _tick(duty, NOW + DAY)
    assert every_run(store) == KEPT_RUNS
    assert len(_cleanups(store)) == 2

    restarted = RetentionDuty(store, daily)  # a scheduler that restarts: no clean-up at once
    _old_run(store, "later")
    _tick(restarted, NOW + DAY + timedelta(hours=1))
    assert ("etl", "later") in every_run(store)
    assert restarted.next_due == NOW + 2 * DAY  # nor a day skipped
    _tick(restarted, NOW + 2 * DAY)
    assert every_run(store) == KEPT_RUNS
    assert [actor for _, actor in _cleanups(store)] == ["scheduler"] * 3


@pytest.fixture
def damaged(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlStore]:
    """A SQLite database of its own (this test damages it), on the clock at ``NOW``."""
    path = tmp_path / "damaged.db"
    shutil.copyfile(sqlite_template, path)
    with SqlStore.from_url(f"sqlite:///{path}", clock=FakeClock(NOW)) as store:
        yield store


def test_a_failed_clean_up_is_logged_and_tried_again_an_interval_later(
    damaged: SqlStore, daily: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store = damaged
    _old_run(store, "old")
    store.create_dag_run(make_run("etl", "newest", 5, state=DagRunState.SUCCESS), [])
    with store.engine.begin() as conn:  # a damaged database: deleting the run's XComs fails
        conn.execute(text("DROP TABLE xcoms"))
    duty = RetentionDuty(store, daily)
    _tick(duty, NOW)
    assert "The clean-up of old data failed; it is tried again in 1 day" in caplog.text
    assert ("etl", "old") in every_run(store)
    assert _cleanups(store) == []
    assert duty.next_due == NOW + DAY
    _tick(duty, NOW + timedelta(hours=1))
    assert caplog.text.count("The clean-up of old data failed") == 1


def test_the_scheduler_has_the_duty_only_when_set(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(tmp_path))
    scheduler = build_scheduler(load_settings(), store=store, clock=FakeClock(NOW))
    assert "retention" not in [d.name for d in build_duties(scheduler)]
    monkeypatch.setenv("HEADWATER__RETENTION__OLDER_THAN_DAYS", "30")
    scheduler = build_scheduler(load_settings(), store=store, clock=FakeClock(NOW))
    assert [d.name for d in build_duties(scheduler)].count("retention") == 1


@pytest.fixture
def harness(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    monkeypatch.setenv("HEADWATER__RETENTION__OLDER_THAN_DAYS", "0.05")  # 72 minutes
    monkeypatch.setenv("HEADWATER__RETENTION__INTERVAL_S", "3600")
    h = Harness(db_url, folder, FakeClock(at(4, 0, 30)))
    yield h
    h.close()


def _stepped(harness: Harness) -> bool:
    harness.step()
    return True


def _cleaned(store: SqlStore) -> datetime | None:
    """When the last clean-up ran (it removes the events of those before, when old enough)."""
    return max((e.at for e in store.list_events(kind="db_clean")), default=None)


def test_a_catchup_dag_never_gets_its_removed_runs_again(harness: Harness) -> None:
    harness.write_dag(
        "daily",
        """
        with DAG("daily", schedule="@daily", start_date=START, catchup=True):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.run_until(lambda: [r.state.value for r in harness.runs("daily")] == ["success"] * 3)
    store = harness.store
    wait_for(lambda: _cleaned(store) == at(4, 0, 30), "the first clean-up")
    logs = Path(load_settings().logs_folder) / "dag_id=daily"
    assert len(list(logs.iterdir())) == 3

    harness.clock.advance(timedelta(hours=2))  # the runs ended more than 72 minutes ago
    # The scheduler's passes start the clean-up in its thread (once the first one's ended).
    wait_for(lambda: _stepped(harness) and _cleaned(store) == at(4, 2, 30), "the second clean-up")
    (kept,) = harness.runs("daily")
    assert kept.data_interval_start == at(3)  # the newest scheduled run: the last interval
    assert [p.name for p in logs.iterdir()] == [f"run_id={kept.run_id}"]

    harness.step()
    assert harness.runs("daily") == [kept]  # no interval created again

    harness.close()  # the scheduler stops; a new one starts on the same database
    restarted = Harness(harness.url, harness.folder, harness.clock)
    store = restarted.store
    try:
        restarted.step()
        assert restarted.runs("daily") == [kept]
        assert _cleaned(store) == at(4, 2, 30)  # not on every start
        harness.clock.advance(timedelta(hours=1))
        wait_for(
            lambda: _stepped(restarted) and _cleaned(store) == at(4, 3, 30), "the next clean-up"
        )
        assert restarted.runs("daily") == [kept]
    finally:
        restarted.close()
