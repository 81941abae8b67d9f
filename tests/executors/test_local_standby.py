"""LocalExecutor with ``standby=True``: a busy worker holds its next attempt in its pipe and
starts it the moment its current one ends, without waiting for the executor.

The attempts that may be sent to two workers claim themselves first (``claimed`` in
``worker_tasks.py``, as headwater's worker function claims its attempt row), so the tests
can tell which worker ran them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from local_pools import Pool, wait_until

from headwater.clock import FakeClock
from headwater.engine.records import AttemptKey
from headwater.engine.states import TaskInstanceState
from headwater.executors.local_standby import STANDBY_MAX_BYTES

SUCCESS = TaskInstanceState.SUCCESS
FAILED = TaskInstanceState.FAILED


def _prepared(p: Pool) -> list[AttemptKey]:
    return [key for key, _ in p.prepared]


def _pump_until(p: Pool, condition: Callable[[], bool], what: str) -> list[AttemptKey]:
    """Heartbeat (no attempt ends meanwhile) until ``condition``; the keys started."""
    started: list[AttemptKey] = []

    def pumped() -> bool:
        p.executor.heartbeat()
        started.extend(event.key for event in p.executor.started())
        return condition()

    wait_until(pumped, what)
    return started


def _first_held(
    pool: Callable[..., Pool], tmp_path: Path, **options: Any
) -> tuple[Pool, AttemptKey, Path]:
    """One worker (and two attempts queued ahead) running "first", which holds until the
    returned file is written."""
    p = pool(parallelism=1, standby=True, queued_ahead=2, **options)
    release = tmp_path / "release"
    first = p.submit("first", "hold", ready=str(tmp_path / "first"), release=str(release))
    return p, first, release


def _two_busy_workers(
    pool: Callable[..., Pool], tmp_path: Path
) -> tuple[Pool, tuple[AttemptKey, Path], tuple[AttemptKey, Path]]:
    """Two workers, the first running "long" and the second "short" (in that order in the
    executor, so the next key queued waits as the long one's standby), each holding until
    its file is written."""
    p = pool(parallelism=2, standby=True, queued_ahead=2)
    held = []
    for name in ("long", "short"):
        release = tmp_path / f"{name}-go"
        key = p.submit(name, "hold", ready=str(tmp_path / name), release=str(release))
        p.wait_until((tmp_path / name).exists, f"the {name} attempt to start")
        held.append((key, release))
    return p, held[0], held[1]


def test_a_busy_worker_starts_its_standby_without_the_executor(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p, first, release = _first_held(pool, tmp_path)
    second = p.submit("second", "write", path=str(tmp_path / "second"))
    third = p.submit("third", "noop")

    started = _pump_until(p, lambda: second in _prepared(p), "the second to be sent ahead")
    assert started == [first]  # the second waits in the pipe: not started yet
    assert list(p.executor.running()) == [first]
    assert p.executor.waiting() == 1  # the third, in the executor's queue

    release.write_text("go")
    # Nobody polls the executor: the worker goes on to the second attempt by itself.
    wait_until((tmp_path / "second").exists, "the worker to run the second attempt")

    got = dict(p.collect(3))
    assert {key: o.state for key, o in got.items()} == {
        first: SUCCESS,
        second: SUCCESS,
        third: SUCCESS,
    }
    assert len({o.rendered_fields["pid"] for o in got.values()}) == 1
    assert [e.key for e in p.executor.started()] == [second, third]  # as each one began
    assert _prepared(p) == [first, second, third]  # each prepared once


def test_an_idle_worker_takes_over_a_standby_waiting_behind_a_long_attempt(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    claims = tmp_path / "claims"
    claims.mkdir()
    p, (long, long_release), (short, short_release) = _two_busy_workers(pool, tmp_path)
    after = p.submit("after", "claimed", claims=str(claims), name="after")
    _pump_until(p, lambda: after in _prepared(p), "the next attempt to be sent ahead")
    long_pid = p.pid_of(long)
    assert p.pid_of(after) == long_pid  # it waits behind the long attempt

    short_release.write_text("go")
    got = dict(p.collect(2))
    # The worker that went idle took it over rather than leave it behind the long one.
    assert got[short].state is SUCCESS and got[after].state is SUCCESS
    assert got[after].rendered_fields["pid"] == got[short].rendered_fields["pid"] != long_pid
    assert (claims / "after").read_text() == str(got[short].rendered_fields["pid"])

    long_release.write_text("go")
    outcomes = dict(p.collect(2))
    assert outcomes[long].state is SUCCESS
    # Its own copy, read once the long attempt ended, was refused by the claim.
    assert outcomes[after].rejected and outcomes[after].rendered_fields["pid"] == long_pid
    assert [e.key for e in p.executor.started()].count(after) == 1  # reported started once
    assert not p.executor.has_work


def test_a_standby_killed_while_it_waits_ends_its_worker_once_started(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p, first, release = _first_held(pool, tmp_path)
    doomed = p.submit("doomed", "noop")
    _pump_until(p, lambda: doomed in _prepared(p), "the second to be sent ahead")
    first_pid = p.pid_of(first)

    p.executor.kill(doomed)
    release.write_text("go")

    got = dict(p.collect(2))
    assert got[first].state is SUCCESS
    assert got[doomed].state is FAILED
    assert got[doomed].error == "killed on request; worker process terminated"
    assert doomed not in [e.key for e in p.executor.started()]
    wait_until(lambda: first_pid not in p.executor.worker_pids(), "the worker to be gone")
    after = p.submit("after", "noop")
    assert p.outcome(after).rendered_fields["pid"] != first_pid


def test_a_recycled_worker_leaves_its_standby_to_the_next_worker(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p, first, release = _first_held(pool, tmp_path, max_tasks_per_worker=1)
    second = p.submit("second", "noop")
    _pump_until(p, lambda: second in _prepared(p), "the second to be sent ahead")

    release.write_text("go")

    got = dict(p.collect(2))
    assert got[first].state is SUCCESS and got[second].state is SUCCESS
    assert got[second].rendered_fields["pid"] != got[first].rendered_fields["pid"]
    assert _prepared(p).count(second) == 2  # prepared again for the worker that ran it


def test_a_standby_left_in_a_dead_workers_pipe_runs_on_the_next_worker(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p = pool(parallelism=1, standby=True, queued_ahead=2)
    first = p.submit("first", "wait", ready=str(tmp_path / "first"))
    second = p.submit("second", "noop")
    _pump_until(p, lambda: second in _prepared(p), "the second to be sent ahead")
    first_pid = p.pid_of(first)

    os.kill(first_pid, signal.SIGKILL)

    got = dict(p.collect(2))
    assert got[first].state is FAILED
    assert got[first].error == "worker process died with signal SIGKILL while running the task"
    assert got[second].state is SUCCESS  # it never started: it ran elsewhere, not failed
    assert got[second].rendered_fields["pid"] != first_pid


def test_a_standby_behind_an_attempt_that_times_out_runs_on_the_next_worker(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    clock = FakeClock()
    p = pool(parallelism=1, standby=True, queued_ahead=2, clock=clock, kill_grace_s=1.0)
    slow = p.submit("slow", "wait", timeout_s=5.0, ready=str(tmp_path / "slow"))
    second = p.submit("second", "noop")
    _pump_until(p, lambda: second in _prepared(p), "the second to be sent ahead")

    clock.advance(timedelta(seconds=6.5))  # past the timeout and its grace

    got = dict(p.collect(2))
    assert got[slow].error == "timed out after 5 s (execution_timeout); worker killed"
    assert got[second].state is SUCCESS
    assert got[second].rendered_fields["pid"] != p.pid_of(slow)


def test_a_message_too_big_for_a_pipe_waits_in_the_queue(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p, first, release = _first_held(pool, tmp_path)
    big = p.submit("big", "write", path=str(tmp_path / "big"), text="x" * STANDBY_MAX_BYTES)
    _pump_until(p, lambda: big in _prepared(p), "the executor to look at the big one")
    for _ in range(5):
        p.executor.heartbeat()
    assert _prepared(p).count(big) == 1  # looked at once while the first runs, not each time
    assert p.executor.waiting() == 1  # not sent: a full pipe would block the executor

    release.write_text("go")

    got = dict(p.collect(2))
    assert got[first].state is SUCCESS and got[big].state is SUCCESS
    assert (tmp_path / "big").stat().st_size == STANDBY_MAX_BYTES


def _swallowing_first(
    pool: Callable[..., Pool], tmp_path: Path, then: str, **options: Any
) -> tuple[Pool, AttemptKey, AttemptKey]:
    """One worker running "first", which swallows the SIGTERM that stops it and ends well,
    with "second" (action ``then``: "wait" writes ``tmp_path/second``) as its standby."""
    p = pool(parallelism=1, standby=True, queued_ahead=2, **options)
    first = p.submit("first", "swallow_term", ready=str(tmp_path / "first"))
    kwargs: dict[str, Any] = {"ready": str(tmp_path / "second")} if then == "wait" else {}
    second = p.submit("second", then, **kwargs)
    _pump_until(p, lambda: second in _prepared(p), "the second to be sent ahead")
    p.wait_until((tmp_path / "first").exists, "the first attempt to start")
    return p, first, second


def test_a_standby_its_worker_started_while_being_stopped_is_reported_lost(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    # The first attempt swallows the SIGTERM of its kill and ends well: the worker reads its
    # standby and starts it before the SIGKILL comes. The executor cannot put that one back
    # (it may have claimed it): it reports it started, then lost, saying why.
    p, first, second = _swallowing_first(pool, tmp_path, "wait", kill_grace_s=0.5)

    p.executor.kill(first)

    got = dict(p.collect(2))
    assert (tmp_path / "second").exists()  # it did start
    assert got[first].error == "killed on request; worker process terminated"
    # Reported started, then lost: the scheduler applies what it recorded, or runs it again.
    assert second in [e.key for e in p.executor.started()]
    assert got[second].state is FAILED and got[second].lost
    assert got[second].error == (
        "its worker was stopped as it started this attempt "
        "(the one before: killed on request; worker process terminated)"
    )
    assert _prepared(p).count(second) == 1  # not sent again


def test_a_worker_recycled_as_it_was_killed_leaves_its_standby_to_the_next_worker(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    # The first attempt swallows its kill and ends, and the worker leaves after it
    # (max_tasks_per_worker=1): it never reads its standby, which runs elsewhere.
    p, first, second = _swallowing_first(pool, tmp_path, "noop", max_tasks_per_worker=1)

    p.executor.kill(first)

    got = dict(p.collect(2))
    assert got[first].error == "killed on request; worker process terminated"
    assert got[second].state is SUCCESS and not got[second].lost
    assert got[second].rendered_fields["pid"] != p.pid_of(first)


def test_a_killed_standby_is_not_taken_over(pool: Callable[..., Pool], tmp_path: Path) -> None:
    claims = tmp_path / "claims"
    claims.mkdir()
    p, (long, long_release), (short, short_release) = _two_busy_workers(pool, tmp_path)
    doomed = p.submit("doomed", "claimed", claims=str(claims), name="doomed")
    _pump_until(p, lambda: doomed in _prepared(p), "the next attempt to be sent ahead")

    p.executor.kill(doomed)
    short_release.write_text("go")

    [(key, _)] = p.collect(1)
    assert key == short
    for _ in range(5):
        p.executor.heartbeat()
    assert doomed not in [e.key for e in p.executor.started()]  # the idle worker left it
    assert not (claims / "doomed").exists()
    long_release.write_text("go")
    got = dict(p.collect(2))
    assert got[long].state is SUCCESS
    assert got[doomed].error == "killed on request; worker process terminated"


def test_stop_reports_a_standby_its_worker_went_on_to_as_started(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    # Stopping terminates the busy worker; its attempt swallows the SIGTERM and ends, and
    # the worker goes on to its standby until the SIGKILL. Both are accounted for: the
    # first's outcome is returned, the standby is reported started (the scheduler then
    # puts it back as stopped, or applies what it recorded).
    p, first, second = _swallowing_first(pool, tmp_path, "wait", kill_grace_s=0.5)

    finished = dict(p.executor.stop())

    assert (tmp_path / "second").exists()
    assert finished[first].state is SUCCESS
    assert second not in finished  # cut short: the caller records it as stopped
    assert second in [e.key for e in p.executor.started()]


def test_a_copy_that_fails_before_its_claim_is_not_the_attempts_outcome(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    # A standby taken over ran on the idle worker; the first worker's copy, read once its
    # long attempt ended, fails before it claims anything (as a DAG file edited since would
    # make it): that report is not the attempt's, so it says rejected.
    p, (long, long_release), (short, short_release) = _two_busy_workers(pool, tmp_path)
    edited = tmp_path / "edited"
    after = p.submit("after", "fail_if_exists", path=str(edited))
    _pump_until(p, lambda: after in _prepared(p), "the next attempt to be sent ahead")
    short_release.write_text("go")
    got = dict(p.collect(2))
    assert got[short].state is SUCCESS and got[after].state is SUCCESS  # taken over

    edited.write_text("the DAG file changed")
    long_release.write_text("go")

    again = dict(p.collect(2))
    assert again[long].state is SUCCESS
    assert again[after].state is FAILED and again[after].rejected
