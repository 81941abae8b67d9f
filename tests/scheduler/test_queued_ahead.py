"""``scheduler.queued_ahead``: how many attempts the scheduler hands its executor beyond
``parallelism``. The local executor holds them until a worker is free, so a worker that ends
an attempt starts the next one without waiting for the scheduler's next write; they are
``queued`` in the database and count toward pools and ``max_active_tasks`` as running ones do.

A scheduler on the memory store with an executor that runs nothing (the test starts and ends
attempts as a worker would), and the executor's ``queued_ahead`` set as the local executor
sets it from the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.operations import trigger_run
from headwater.scheduler.scheduler import Scheduler
from scripted_executor import ScriptedExecutor, scripted, scripted_scheduler

S = TaskInstanceState

SIX_TASKS = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators import EmptyOperator

with DAG("six", start_date=datetime(2024, 1, 1, tzinfo=UTC), max_active_tasks={limit}):
    for i in range(6):
        EmptyOperator(task_id=f"t{{i}}", pool="{pool}")
"""


@pytest.fixture
def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Scheduler]]:
    made: list[Scheduler] = []

    def build(*, ahead: int, limit: int = 16, pool: str = "default_pool") -> Scheduler:
        monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
        source = SIX_TASKS.format(limit=limit, pool=pool)
        scheduler = scripted_scheduler(tmp_path, monkeypatch, "six.py", source)
        made.append(scheduler)
        scripted(scheduler).queued_ahead = ahead
        return scheduler

    yield build
    for scheduler in made:
        scheduler.stop()


def _states(scheduler: Scheduler) -> dict[str, S]:
    [run] = scheduler.store.list_dag_runs("six")
    return {ti.task_id: ti.state for ti in scheduler.store.get_task_instances("six", run.run_id)}


def _count(states: dict[str, S], state: S) -> int:
    return sum(1 for s in states.values() if s is state)


def _trigger(scheduler: Scheduler) -> None:
    trigger_run(scheduler.store, "six", now=scheduler.clock.now())
    scheduler.tick()


def test_the_executor_gets_parallelism_plus_what_it_queues_ahead(
    make: Callable[..., Scheduler],
) -> None:
    scheduler = make(ahead=3)
    _trigger(scheduler)
    executor = scripted(scheduler)

    # Two may run (parallelism), three more wait with the executor: all five committed queued.
    assert [key.task_id for key in executor.queued] == ["t0", "t1", "t2", "t3", "t4"]
    assert _count(_states(scheduler), S.QUEUED) == 5
    assert _count(_states(scheduler), S.SCHEDULED) == 1

    # One ends: the one left over is handed out with its end, in the same transaction.
    for key in executor.queued[:2]:
        executor.start_attempt(key)
    executor.report(executor.queued[0], AttemptOutcome(S.SUCCESS))
    scheduler.apply_outcomes(executor.poll(timeout=0))
    scheduler.tick()
    assert [key.task_id for key in executor.queued][5:] == ["t5"]
    states = _states(scheduler)
    assert (states["t0"], states["t1"], states["t5"]) == (S.SUCCESS, S.RUNNING, S.QUEUED)


def test_without_queueing_ahead_only_parallelism_is_handed_out(
    make: Callable[..., Scheduler],
) -> None:
    scheduler = make(ahead=0)
    _trigger(scheduler)
    assert [key.task_id for key in scripted(scheduler).queued] == ["t0", "t1"]
    assert _count(_states(scheduler), S.SCHEDULED) == 4


def test_attempts_queued_ahead_count_toward_max_active_tasks(
    make: Callable[..., Scheduler],
) -> None:
    scheduler = make(ahead=10, limit=3)
    _trigger(scheduler)
    assert len(scripted(scheduler).queued) == 3
    assert _count(_states(scheduler), S.QUEUED) == 3


def test_attempts_queued_ahead_hold_their_pool_slots(make: Callable[..., Scheduler]) -> None:
    scheduler = make(ahead=10, pool="narrow")
    scheduler.store.set_pool("narrow", 3, "three slots")
    scheduler.tick()  # the scheduler reads the pools at its next full pass
    _trigger(scheduler)
    assert len(scripted(scheduler).queued) == 3
    assert _count(_states(scheduler), S.QUEUED) == 3


def test_a_full_dag_costs_admission_a_look_not_a_walk_through_what_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With attempts queued ahead, a DAG's max_active_tasks often binds before the slots do:
    # admission used to read every waiting instance of the full DAG, at every ended attempt.
    source = SIX_TASKS.replace("range(6)", "range(300)").format(limit=4, pool="default_pool")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
    scheduler = scripted_scheduler(tmp_path, monkeypatch, "six.py", source)
    try:
        executor = scripted(scheduler)
        executor.queued_ahead = 16
        _trigger(scheduler)
        assert len(executor.queued) == 4
        [active] = scheduler._runs.values()
        looked: list[str] = []
        real_get_ti = active.engine.get_ti

        def get_ti(task_id: str, map_index: int) -> object:
            looked.append(task_id)
            return real_get_ti(task_id, map_index)

        monkeypatch.setattr(active.engine, "get_ti", get_ti)
        executor.start_attempt(executor.queued[0])
        executor.report(executor.queued[0], AttemptOutcome(S.SUCCESS))
        with scheduler._one_transaction():
            scheduler.apply_outcomes(executor.poll(timeout=0))
            looked.clear()
            scheduler.schedule_runs(scheduler.clock.now())

        assert len(executor.queued) == 5  # the room the ended attempt left is taken again
        assert len(looked) <= 2, looked  # not the 295 instances still waiting
    finally:
        scheduler.stop()


def _scripted_polls(
    monkeypatch: pytest.MonkeyPatch, executor: ScriptedExecutor, polls: list[tuple[int, str]]
) -> list[float]:
    """Each poll returns one ended attempt named by ``polls`` (then nothing), after which the
    executor holds the number of attempts queued ahead given with it. Returns the timeouts
    the polls were given."""
    timeouts: list[float] = []
    holds = [polls[0][0]]

    def poll(timeout: float) -> list[tuple[object, AttemptOutcome]]:
        timeouts.append(timeout)
        if len(timeouts) > len(polls):
            return []
        held, task_id = polls[len(timeouts) - 1]
        holds[0] = held
        return [(task_id, AttemptOutcome(S.SUCCESS))]

    monkeypatch.setattr(executor, "poll", poll)
    monkeypatch.setattr(executor, "waiting", lambda: holds[0])
    return timeouts


def test_ends_are_gathered_while_enough_is_queued_ahead_for_the_workers(
    make: Callable[..., Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = make(ahead=16)
    executor = scripted(scheduler)
    # Four or more held (a quarter of 16): no worker waits for the write, so more ends are
    # taken (each poll waits no longer than what is left of the gathering) until the queue
    # runs low.
    timeouts = _scripted_polls(monkeypatch, executor, [(12, "a"), (5, "b"), (4, "c"), (3, "d")])
    finished = scheduler.poll_executor(1.0)
    assert [key for key, _ in finished] == ["a", "b", "c", "d"]
    assert timeouts[0] == 1.0 and all(0 < t <= 0.01 for t in timeouts[1:])


def test_ends_are_written_at_once_when_the_workers_may_wait_for_them(
    make: Callable[..., Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = make(ahead=16)
    executor = scripted(scheduler)
    _scripted_polls(monkeypatch, executor, [(3, "a"), (12, "b")])
    assert [key for key, _ in scheduler.poll_executor(1.0)] == ["a"]  # fewer than four held

    executor.queued_ahead = 0  # nothing is ever queued ahead: the workers wait for each write
    _scripted_polls(monkeypatch, executor, [(0, "a"), (0, "b")])
    assert [key for key, _ in scheduler.poll_executor(1.0)] == ["a"]
