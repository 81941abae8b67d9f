"""An asset event recorded from outside (CLI, API: another process) brings the scheduler's
next full pass forward, as a run queued from outside does, instead of waiting for
``loop_interval_s``; a pass consumes it, and then nothing more is wanted."""

from __future__ import annotations

import pytest
from scheduler_harness import Harness

from headwater.scheduler.asset_event_watch import AssetEventWatch
from headwater.store.memory import MemoryStore

CONSUMER = """
from headwater import Asset

with DAG("consumer", start_date=START, schedule=[Asset("s3://bucket/sales.parquet")]):
    EmptyOperator(task_id="read")
"""


@pytest.fixture
def h(harness: Harness) -> Harness:
    harness.write_dag("consumer", CONSUMER)
    harness.process()
    return harness


def test_an_event_from_outside_wants_a_pass_until_one_runs(h: Harness) -> None:
    scheduler = h.scheduler
    scheduler.tick()
    assert not scheduler._new_runs_queued()

    h.store.create_asset_event("s3://bucket/sales.parquet", timestamp=h.clock.now())

    assert scheduler._new_runs_queued()  # the loop starts a full pass now
    scheduler.tick()
    assert [r.run_type for r in h.runs("consumer")] == ["asset_triggered"]
    assert not scheduler._new_runs_queued()  # consumed: no pass after pass


def test_the_watch_sees_only_events_newer_than_its_mark() -> None:
    store = MemoryStore()
    watch = AssetEventWatch(store)
    watch.mark()
    assert not watch.new_since_mark()  # no event at all
    store.create_asset_event("s3://a", timestamp=store.clock.now(), create=True)
    assert watch.new_since_mark()
    watch.mark()
    assert not watch.new_since_mark()
    assert not AssetEventWatch(object()).new_since_mark()  # a store without assets
