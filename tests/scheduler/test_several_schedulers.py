"""Several schedulers on one database, driven step by step with a fake clock on the memory
store (fast): each claims its share of the active runs and drives only those; a stopped
one's runs are claimed at once, a dead one's once its leases expire, and what it left is put
back; a scheduler whose lease expired forgets the run another took; pools and
``max_active_tasks`` count the other schedulers' instances (between passes, at most every
``OTHERS_COUNT_INTERVAL_S``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.engine.records import DagRun
from headwater.scheduler.attempt_flow import OTHERS_COUNT_INTERVAL_S
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import in_process_executor_factory
from headwater.settings import load_settings
from headwater.store.memory import MemoryStore

LEASE_S = 10.0


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEADWATER__SCHEDULER__RUN_CLAIM_LEASE_S", str(LEASE_S))
    monkeypatch.setenv("HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S", "1")
    monkeypatch.setenv("HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S", "5")
    clock = FakeClock(at(4, 0, 30))
    h = Harness(f"sqlite:///{tmp_path / 'unused.db'}", folder, clock)
    h.store.close()
    h.store = MemoryStore(clock=clock)  # type: ignore[assignment]
    yield h
    h.store.close()


def _scheduler(harness: Harness) -> Scheduler:
    scheduler = Scheduler(
        store=harness.store,
        executor_factory=in_process_executor_factory(),
        settings=load_settings(),
        clock=harness.clock,
        several_schedulers=True,
    )
    scheduler.start()
    return scheduler


def _runs(harness: Harness, dag_id: str, count: int) -> list[DagRun]:
    runs = []
    for _ in range(count):
        runs.append(harness.trigger(dag_id))
        harness.clock.advance(timedelta(seconds=1))
    return runs


def _owner(harness: Harness, run: DagRun) -> str | None:
    claim = harness.store.get_run_claim(run.dag_id, run.run_id)
    return None if claim is None else claim.claimed_by


def _drive(harness: Harness, scheduler: Scheduler) -> None:
    """One pass, then the attempts it queued run and are applied."""
    scheduler.tick()
    finished = scheduler.executor.poll(timeout=0)
    scheduler.apply_outcomes(finished)
    scheduler.schedule_runs(harness.clock.now())


def _drive_until_done(harness: Harness, schedulers: list[Scheduler], runs: list[DagRun]) -> None:
    """Passes of ``schedulers`` in turn until ``runs`` succeeded (at most 30 rounds)."""
    for _ in range(30):
        if all(harness.run_state(run.dag_id, run.run_id) == "success" for run in runs):
            return
        for scheduler in schedulers:
            _drive(harness, scheduler)
    raise AssertionError([harness.states(run.dag_id, run.run_id) for run in runs])


def _owner_name(scheduler: Scheduler) -> str:
    assert scheduler._claims is not None
    return scheduler._claims.owner


def _chain(harness: Harness) -> None:
    harness.write_dag(
        "chain",
        """
        with DAG("chain", start_date=START, max_active_runs=8):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    harness.process()


def test_two_schedulers_each_drive_their_share_of_the_runs(harness: Harness) -> None:
    _chain(harness)
    first, second = _scheduler(harness), _scheduler(harness)
    runs = _runs(harness, "chain", 4)
    first.tick()
    second.tick()
    owners = [_owner(harness, run) for run in runs]
    assert sorted(owners) == sorted([_owner_name(first)] * 2 + [_owner_name(second)] * 2)
    assert set(first._runs).isdisjoint(second._runs)
    assert len(first._runs) == len(second._runs) == 2
    _drive_until_done(harness, [first, second], runs)
    first.stop()
    second.stop()
    assert [_owner(harness, run) for run in runs] == [None] * 4  # released when stopping


def test_a_stopped_schedulers_runs_are_taken_at_once_a_dead_ones_after_the_lease(
    harness: Harness,
) -> None:
    _chain(harness)
    first, second, third = _scheduler(harness), _scheduler(harness), _scheduler(harness)
    runs = _runs(harness, "chain", 3)
    for scheduler in (first, second, third):
        scheduler.tick()
    mine = {s: [r for r in runs if _owner(harness, r) == _owner_name(s)] for s in (first, second)}
    assert len(mine[first]) == len(mine[second]) == 1

    # Stopped: its claims are released, and the next pass of another claims its run.
    first.stop()
    harness.clock.advance(timedelta(seconds=1))
    second.tick()
    third.tick()
    assert _owner(harness, mine[first][0]) in (_owner_name(second), _owner_name(third))

    # Dead (it stops ticking, never releases): not taken while its lease lasts...
    harness.clock.advance(timedelta(seconds=LEASE_S / 2))
    third.tick()
    assert _owner(harness, mine[second][0]) == _owner_name(second)
    # ...taken once it expired, and driven to the end by the survivor.
    harness.clock.advance(timedelta(seconds=LEASE_S))
    third.tick()
    assert all(_owner(harness, run) == _owner_name(third) for run in runs)
    _drive_until_done(harness, [third], runs)
    third.stop()


def test_what_a_dead_scheduler_left_queued_runs_once_under_the_survivor(
    harness: Harness,
) -> None:
    _chain(harness)
    victim, survivor = _scheduler(harness), _scheduler(harness)
    [run] = _runs(harness, "chain", 1)
    victim.tick()  # claims the run and queues "a"; its executor dies with it
    assert _owner(harness, run) == _owner_name(victim)
    assert harness.states("chain", run.run_id)["a"] == "queued"
    harness.clock.advance(timedelta(seconds=LEASE_S + 1))
    _drive_until_done(harness, [survivor], [run])
    assert [a.try_number for a in harness.attempts("chain", run.run_id, "a")] == [1]
    survivor.stop()


def test_a_scheduler_whose_lease_expired_forgets_the_run_another_took(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _chain(harness)
    slow, other = _scheduler(harness), _scheduler(harness)
    [run] = _runs(harness, "chain", 1)
    slow.tick()
    assert (run.dag_id, run.run_id) in slow._runs
    harness.clock.advance(timedelta(seconds=LEASE_S + 1))  # slow stalls past its lease
    other.tick()
    assert _owner(harness, run) == _owner_name(other)
    slow.tick()  # its heartbeat finds the run taken
    assert (run.dag_id, run.run_id) not in slow._runs
    assert "is driven by another scheduler now" in caplog.text
    slow.stop()
    other.stop()


def test_pools_and_max_active_tasks_count_the_other_schedulers_instances(
    harness: Harness,
) -> None:
    harness.store.set_pool("single", 1, "one at a time")
    harness.write_dag(
        "pooled",
        """
        with DAG("pooled", start_date=START, max_active_runs=8):
            EmptyOperator(task_id="a", pool="single")
        """,
    )
    harness.write_dag(
        "narrow",
        """
        with DAG("narrow", start_date=START, max_active_runs=8, max_active_tasks=1):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    first, second = _scheduler(harness), _scheduler(harness)
    for dag_id in ("pooled", "narrow"):
        runs = _runs(harness, dag_id, 2)
        first.tick()
        second.tick()
        assert {_owner(harness, run) for run in runs} == {_owner_name(first), _owner_name(second)}
        states = sorted(harness.states(dag_id, run.run_id)["a"] for run in runs)
        assert states == ["queued", "scheduled"], dag_id
        _drive_until_done(harness, [first, second], runs)
    first.stop()
    second.stop()


def test_between_passes_a_slot_the_others_freed_is_seen_once_their_count_is_due(
    harness: Harness,
) -> None:
    """Between full passes what the other schedulers hold is counted again at most every
    OTHERS_COUNT_INTERVAL_S (two queries each time), not after every ended attempt."""
    harness.store.set_pool("single", 1, "one at a time")
    harness.write_dag(
        "pooled",
        """
        with DAG("pooled", start_date=START, max_active_runs=8):
            EmptyOperator(task_id="a", pool="single")
        """,
    )
    harness.process()
    first, second = _scheduler(harness), _scheduler(harness)
    runs = _runs(harness, "pooled", 2)
    first.tick()
    second.tick()  # counts the first's queued instance: its own waits
    (mine,) = [run for run in runs if _owner(harness, run) == _owner_name(second)]
    assert harness.states("pooled", mine.run_id)["a"] == "scheduled"
    _drive_until_done(harness, [first], [r for r in runs if r is not mine])  # the slot is free

    harness.clock.advance(timedelta(seconds=OTHERS_COUNT_INTERVAL_S / 2))
    second.schedule_runs(harness.clock.now())  # between passes: the count is still fresh
    assert harness.states("pooled", mine.run_id)["a"] == "scheduled"
    harness.clock.advance(timedelta(seconds=OTHERS_COUNT_INTERVAL_S / 2))
    second.schedule_runs(harness.clock.now())  # due: counted again, the slot is free
    assert harness.states("pooled", mine.run_id)["a"] == "queued"
    first.stop()
    second.stop()


def test_a_restart_on_the_same_machine_takes_a_dead_schedulers_runs_at_once(
    harness: Harness,
) -> None:
    import socket
    import subprocess
    import sys

    from headwater.scheduler.run_claims import claim_owner

    _chain(harness)
    [run] = _runs(harness, "chain", 1)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # its pid runs nothing now
    ended.wait()
    host = socket.gethostname()
    job = harness.store.start_job("scheduler", host, ended.pid, harness.clock.now())
    lease = timedelta(seconds=LEASE_S)
    owner = claim_owner(job, host, ended.pid)
    assert harness.store.claim_runs(owner, harness.clock.now(), lease) == [(run.dag_id, run.run_id)]

    restarted = _scheduler(harness)  # well within the dead one's lease
    assert _owner(harness, run) == _owner_name(restarted)
    _drive_until_done(harness, [restarted], [run])
    restarted.stop()


def test_two_schedulers_planning_the_same_schedule_create_each_run_once(
    harness: Harness,
) -> None:
    harness.write_dag(
        "daily",
        """
        with DAG("daily", schedule="@daily", start_date=START, catchup=True,
                 max_active_runs=16):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    first, second = _scheduler(harness), _scheduler(harness)
    for _ in range(2):
        first.tick()
        second.tick()
    dates = [run.logical_date for run in harness.runs("daily")]
    assert len(dates) == len(set(dates)) == 3  # Jan 1, 2 and 3 by Jan 4 00:30
    _drive_until_done(harness, [first, second], harness.runs("daily"))
    assert len(harness.runs("daily")) == 3
    first.stop()
    second.stop()


def test_an_attempt_on_another_machine_stays_running_until_its_heartbeat_stops(
    harness: Harness,
) -> None:
    from headwater.engine.records import TaskAttempt
    from headwater.engine.states import TaskInstanceState
    from headwater.executors.base import AttemptStarted

    harness.write_dag(
        "remote",
        """
        with DAG("remote", start_date=START):
            EmptyOperator(task_id="a", retries=1, retry_delay=timedelta(0))
        """,
    )
    harness.process()
    victim, survivor = _scheduler(harness), _scheduler(harness)
    [run] = _runs(harness, "remote", 1)
    victim.tick()
    key = harness.tis("remote", run.run_id)["a"].key.attempt(1)
    # A worker on another machine claims the attempt and starts it; then the victim dies.
    assert victim.prepare_attempt(key, 4242, "elsewhere") is not None
    started = TaskAttempt(
        dag_id=key.dag_id,
        run_id=key.run_id,
        task_id=key.task_id,
        map_index=key.map_index,
        try_number=key.try_number,
        state=TaskInstanceState.RUNNING,
        start_date=harness.clock.now(),
        hostname="elsewhere",
        pid=4242,
    )
    assert harness.store.claim_attempt(started)
    victim.apply_started([AttemptStarted(key, "elsewhere", 4242, harness.clock.now())])
    harness.clock.advance(timedelta(seconds=LEASE_S + 1))
    harness.store.heartbeat_attempts([key], harness.clock.now())  # that worker is alive

    survivor.tick()  # takes the run over, and leaves the remote attempt running
    assert _owner(harness, run) == _owner_name(survivor)
    engine = survivor._runs[(run.dag_id, run.run_id)].engine
    assert engine.get_ti("a", -1).state is TaskInstanceState.RUNNING
    [attempt] = harness.attempts("remote", run.run_id, "a")
    assert attempt.end_date is None

    # Its heartbeat stops: after task_heartbeat_timeout_s it fails as lost and is retried.
    harness.clock.advance(timedelta(seconds=6))
    _drive_until_done(harness, [survivor], [run])
    first, second = harness.attempts("remote", run.run_id, "a")
    assert (first.try_number, first.state.value) == (1, "up_for_retry")
    assert "no heartbeat" in (first.outcome.error if first.outcome else "")
    assert (second.try_number, second.state.value) == (2, "success")
    survivor.stop()


def test_a_lease_shorter_than_two_heartbeats_is_refused_naming_both_settings(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.exceptions import HeadwaterError

    monkeypatch.setenv("HEADWATER__SCHEDULER__RUN_CLAIM_LEASE_S", "1.5")
    with pytest.raises(HeadwaterError, match=r"run_claim_lease_s \(1.5\).*heartbeat_interval_s"):
        _scheduler(harness)
