"""The triggerer in process, over a memory store and a fake clock: claims, firing once,
failures, capacity, triggers stopped when no longer held (orphans, leases lost), the event
loop watched, and a clean stop. The triggers run on the real asyncio loop; every wait on
them has a deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from deferred_tasks import clear, defer
from flag_triggers import (
    BlockingTrigger,
    FlagTrigger,
    ObjectPayloadTrigger,
    RaisingTrigger,
    SilentTrigger,
    raise_flag,
)

from headwater.clock import FakeClock, SystemClock
from headwater.settings_daemons import TriggererSettings
from headwater.store.memory import MemoryStore
from headwater.store.triggers import FAILED, FIRED, WAITING, TriggerRow
from headwater.triggerer import Triggerer

LEASE_S = 30.0


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def make_triggerer(store: MemoryStore, clock: FakeClock) -> Iterator[Callable[..., Triggerer]]:
    made: list[Triggerer] = []

    def make(name: str = "t1", **settings: float) -> Triggerer:
        config = TriggererSettings(**{"lease_s": LEASE_S, **settings})  # type: ignore[arg-type]
        triggerer = Triggerer(store, config, clock=clock, name=name)
        triggerer.start()
        made.append(triggerer)
        return triggerer

    yield make
    for triggerer in made:
        triggerer.runner.stop()


def stored(store: MemoryStore, trigger: TriggerRow) -> TriggerRow:
    row = store.get_trigger(trigger.id)
    assert row is not None
    return row


def wait_until_written(triggerer: Triggerer, condition: Callable[[], bool]) -> None:
    """Write results as they come until ``condition()`` (10 s at most)."""
    for _ in range(100):
        triggerer.write_results()
        if condition():
            return
        triggerer.wait_for_results(0.1)
    raise AssertionError("the triggers did not come to the results expected")


def test_a_trigger_fires_once_its_condition_holds(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    [trigger] = defer(store, [FlagTrigger(str(flag))])
    woken: list[str] = []
    triggerer = make_triggerer()
    triggerer.on_fired = lambda: woken.append("wake")
    triggerer.tick()
    assert set(triggerer.running) == {trigger.id}
    assert stored(store, trigger).triggerer_id == "t1"
    assert not triggerer.wait_for_results(0.05)  # no flag yet: nothing happens
    assert stored(store, trigger).state == WAITING
    raise_flag(flag, "ready")
    wait_until_written(triggerer, lambda: stored(store, trigger).state == FIRED)
    fired = stored(store, trigger)
    assert fired.payload == {"path": str(flag), "text": "ready"}
    assert triggerer.running == {}
    assert woken == ["wake"]
    # Its clean-up ran, and the next tick runs nothing again.
    wait_until_written(triggerer, (tmp_path / "flag.cleanup").exists)
    triggerer.tick()
    assert triggerer.running == {}


def test_triggers_that_fail_record_why(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer]
) -> None:
    raising, silent, not_json = defer(
        store, [RaisingTrigger("bad path"), SilentTrigger(), ObjectPayloadTrigger()]
    )
    triggerer = make_triggerer()
    triggerer.tick()
    wait_until_written(triggerer, lambda: store.count_waiting_triggers() == 0)
    assert {stored(store, t).state for t in (raising, silent, not_json)} == {FAILED}
    assert stored(store, raising).error == "ValueError: bad path"
    assert stored(store, silent).error == "ended without an event"
    error = stored(store, not_json).error
    assert error is not None and error.startswith("its event's payload is not JSON:")
    assert "object" in error


def test_a_trigger_that_cannot_be_built_fails_naming_its_classpath(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer]
) -> None:
    missing, bad_kwargs = defer(store, [FlagTrigger("x"), FlagTrigger("y")])
    with store.unit_of_work():  # as if stored by an older version of the code
        store._s.triggers[missing.id] = stored(store, missing).__class__(
            **{**vars(stored(store, missing)), "classpath": "flag_triggers.GoneTrigger"}
        )
        store._s.triggers[bad_kwargs.id] = stored(store, bad_kwargs).__class__(
            **{**vars(stored(store, bad_kwargs)), "kwargs": {"colour": "red"}}
        )
    triggerer = make_triggerer()
    triggerer.tick()
    assert triggerer.running == {}
    gone, bad = stored(store, missing), stored(store, bad_kwargs)
    assert (gone.state, bad.state) == (FAILED, FAILED)
    assert gone.error is not None and "'flag_triggers.GoneTrigger' cannot be imported" in gone.error
    assert bad.error is not None and "'flag_triggers.FlagTrigger' cannot be built" in bad.error


def test_capacity_bounds_the_triggers_run_at_once(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], tmp_path: Path
) -> None:
    triggers = defer(store, [FlagTrigger(str(tmp_path / f"flag{i}")) for i in range(3)])
    first = make_triggerer("t1", capacity=2)
    first.tick()
    assert set(first.running) == {triggers[0].id, triggers[1].id}
    second = make_triggerer("t2", capacity=2)
    second.tick()
    assert set(second.running) == {triggers[2].id}  # the one t1 had no room for
    first.tick()
    assert len(first.running) == 2  # still full: claims nothing more
    raise_flag(tmp_path / "flag0")
    wait_until_written(first, lambda: stored(store, triggers[0]).state == FIRED)
    assert set(first.running) == {triggers[1].id}


def test_a_trigger_whose_task_moved_on_is_stopped(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], tmp_path: Path
) -> None:
    kept, cleared = defer(
        store, [FlagTrigger(str(tmp_path / "a")), FlagTrigger(str(tmp_path / "b"))]
    )
    triggerer = make_triggerer()
    triggerer.tick()
    assert set(triggerer.running) == {kept.id, cleared.id}
    clear(store, cleared)  # cleared by a person: its trigger is an orphan
    assert store.delete_orphan_triggers() == 1  # as the scheduler's next pass does
    triggerer.tick()
    assert set(triggerer.running) == {kept.id}
    wait_until_written(triggerer, (tmp_path / "b.cleanup").exists)  # cleaned up when cancelled
    assert not (tmp_path / "a.cleanup").exists()


def test_a_triggerer_that_lost_its_lease_stops_and_the_trigger_fires_once(
    store: MemoryStore,
    make_triggerer: Callable[..., Triggerer],
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flag = tmp_path / "flag"
    [trigger] = defer(store, [FlagTrigger(str(flag))])
    stalled = make_triggerer("stalled")
    stalled.tick()
    clock.advance(timedelta(seconds=LEASE_S))  # it did not renew: its lease ran out
    taker = make_triggerer("taker")
    taker.tick()
    assert set(taker.running) == {trigger.id}
    assert stored(store, trigger).triggerer_id == "taker"
    # Both run it now; the flag fires both; the trigger fires once, with one payload.
    caplog.set_level(logging.INFO, logger="headwater.triggerer")
    raise_flag(flag, "once")
    wait_until_written(stalled, lambda: not stalled.running)
    wait_until_written(taker, lambda: not taker.running)
    fired = stored(store, trigger)
    assert (fired.state, fired.payload) == (FIRED, {"path": str(flag), "text": "once"})
    assert "was no longer waiting" in caplog.text
    # The stalled one, ticking again, holds nothing and runs nothing.
    stalled.tick()
    assert stalled.running == {}


def test_a_lease_taken_over_stops_the_old_holder(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], clock: FakeClock, tmp_path: Path
) -> None:
    [trigger] = defer(store, [FlagTrigger(str(tmp_path / "flag"))])
    stalled = make_triggerer("stalled")
    stalled.tick()
    clock.advance(timedelta(seconds=LEASE_S))
    make_triggerer("taker").tick()
    stalled.tick()  # its renewal finds the trigger taken over
    assert stalled.running == {}
    wait_until_written(stalled, (tmp_path / "flag.cleanup").exists)
    assert stored(store, trigger).state == WAITING


def test_leases_are_renewed_every_third_of_the_lease(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], clock: FakeClock, tmp_path: Path
) -> None:
    [trigger] = defer(store, [FlagTrigger(str(tmp_path / "flag"))])
    triggerer = make_triggerer(heartbeat_interval_s=60.0)
    start = clock.now()
    triggerer.tick()
    assert stored(store, trigger).claim_expires_at == start + timedelta(seconds=LEASE_S)
    clock.advance(timedelta(seconds=LEASE_S / 3 - 1))
    triggerer.tick()
    assert stored(store, trigger).claim_expires_at == start + timedelta(seconds=LEASE_S)
    clock.advance(timedelta(seconds=1))
    triggerer.tick()
    assert stored(store, trigger).claim_expires_at == clock.now() + timedelta(seconds=LEASE_S)


def test_a_trigger_that_blocks_the_loop_is_named_in_the_log(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], caplog: pytest.LogCaptureFixture
) -> None:
    [trigger] = defer(store, [BlockingTrigger(0.3)])
    triggerer = make_triggerer()
    triggerer.tick()
    wait_until_written(triggerer, lambda: stored(store, trigger).state == FIRED)
    [line] = [r.getMessage() for r in caplog.records if "blocked the event loop" in r.getMessage()]
    assert line.startswith(f"Trigger {trigger.id} (flag_triggers.BlockingTrigger) of etl/wait_0")
    assert " for 0.3" in line or " for 0.4" in line or "blocked the event loop for" in line


def test_stopping_releases_the_claims_and_ends_the_job(
    store: MemoryStore, make_triggerer: Callable[..., Triggerer], tmp_path: Path
) -> None:
    triggers = defer(store, [FlagTrigger(str(tmp_path / f"flag{i}")) for i in range(2)])
    triggerer = make_triggerer()
    triggerer.tick()
    [job] = store.list_jobs(kind="triggerer")
    assert job.ended_at is None
    triggerer.stop()
    assert {stored(store, t).triggerer_id for t in triggers} == {None}
    assert {(tmp_path / f"flag{i}.cleanup").exists() for i in range(2)} == {True}
    [job] = store.list_jobs(kind="triggerer")
    assert job.ended_at is not None
    # Another triggerer takes them at once, without waiting for a lease to run out.
    assert len(store.claim_triggers("t2", job.ended_at, timedelta(seconds=1))) == 2


def test_the_daemon_loop_keeps_its_leases_between_looks_for_triggers(tmp_path: Path) -> None:
    """Real time: a look for new triggers every minute, a lease of 1.5 s; the leases are
    renewed all the same, the flag's event is written at once, and a stop releases them."""
    store = MemoryStore(clock=SystemClock())
    flag = tmp_path / "flag"
    kept, fired = defer(store, [FlagTrigger(str(tmp_path / "never")), FlagTrigger(str(flag))])
    config = TriggererSettings(poll_interval_s=60.0, lease_s=1.5, heartbeat_interval_s=0.1)
    woken = threading.Event()
    triggerer = Triggerer(store, config, name="daemon", on_fired=woken.set)
    stop = threading.Event()
    thread = threading.Thread(target=triggerer.run, args=(stop.is_set,))
    thread.start()
    try:

        def expiry() -> object:
            return stored(store, kept).claim_expires_at

        deadline = time.monotonic() + 10
        while expiry() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        first = expiry()
        assert first is not None
        while expiry() == first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert expiry() != first  # renewed, though the next look is a minute away
        raise_flag(flag, "now")
        assert woken.wait(10)  # written without waiting for the next look
        assert stored(store, fired).state == FIRED
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert stored(store, kept).triggerer_id is None  # released


def test_a_trigger_cancelled_then_run_again_runs_once_its_cleanup_ended(tmp_path: Path) -> None:
    """The runner alone: a trigger cancelled and handed again at once (a lease lost, then
    claimed again) runs again after its clean-up, and fires."""
    from headwater.triggerer.runner import TriggerRunner

    flag = tmp_path / "flag"
    ready = threading.Event()
    runner = TriggerRunner(on_result=ready.set)
    runner.start()
    try:
        runner.run(7, FlagTrigger(str(flag)), "seven")
        runner.cancel({7})
        runner.run(7, FlagTrigger(str(flag)), "seven")
        raise_flag(flag, "again")
        assert ready.wait(10)
        [result] = runner.results()
        assert (result.trigger_id, result.payload) == (7, {"path": str(flag), "text": "again"})
    finally:
        runner.stop()


def test_a_trigger_blocking_the_loop_now_is_named_while_it_blocks(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One that never awaits again would never end its step: the daemon's thread names it."""
    from headwater.triggerer import runner as runner_module

    monkeypatch.setattr(runner_module, "STILL_BLOCKED_S", 0.05)
    ready = threading.Event()
    runner = runner_module.TriggerRunner(on_result=ready.set)
    runner.start()
    try:
        runner.run(3, BlockingTrigger(0.3), "three (flag_triggers.BlockingTrigger)")
        deadline = time.monotonic() + 10
        while "still does" not in caplog.text and time.monotonic() < deadline:
            runner.check_blocked()
            time.sleep(0.01)
        lines = [r.getMessage() for r in caplog.records if "still does" in r.getMessage()]
        assert len(lines) == 1
        assert lines[0].startswith(
            "Trigger three (flag_triggers.BlockingTrigger) has blocked the event loop for"
        )
        assert ready.wait(10)  # it ends in the end, and fires
        runner.check_blocked()  # the same step is not logged twice
        assert len([r for r in caplog.records if "still does" in r.getMessage()]) == 1
    finally:
        runner.stop()
