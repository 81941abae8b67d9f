"""LocalExecutor: a pool of worker processes behind the Executor interface.

The payloads the workers run are in ``worker_tasks.py`` (``run((action, kwargs))``). Tests
wait for events with deadlines and assert on outcomes, pids and files, never on timings.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import worker_tasks
from local_pools import WORKER_FUNCTION, Pool, gone, wait_until

from headwater.clock import FakeClock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError
from headwater.executors.local import Dispatch, LocalExecutor, WorkerInfo, WorkerStartError

SUCCESS = TaskInstanceState.SUCCESS
FAILED = TaskInstanceState.FAILED


@pytest.mark.parametrize("parallelism", [2, 4])
def test_every_attempt_is_reported_once_in_fifo_dispatch_order(
    pool: Callable[..., Pool], parallelism: int
) -> None:
    p = pool(parallelism=parallelism)
    keys = [p.submit(f"t{i}", "noop") for i in range(40)]

    got = p.collect(len(keys))

    assert sorted(key for key, _ in got) == sorted(keys)
    assert all(outcome.state is SUCCESS for _, outcome in got)
    assert [key for key, _ in p.prepared] == keys
    assert len({o.rendered_fields["pid"] for _, o in got}) <= parallelism
    assert not p.executor.has_work
    assert p.executor.poll(timeout=0) == []


def test_attempts_run_in_parallel(pool: Callable[..., Pool], tmp_path: Path) -> None:
    p = pool(parallelism=2)
    # Each passes only if the other one reaches the barrier while it waits there.
    a = p.submit("a", "barrier", folder=str(tmp_path), name="a", peer="b")
    b = p.submit("b", "barrier", folder=str(tmp_path), name="b", peer="a")
    got = dict(p.collect(2))
    assert got[a].state is SUCCESS, got[a].error
    assert got[b].state is SUCCESS, got[b].error
    assert got[a].rendered_fields["pid"] != got[b].rendered_fields["pid"]


def test_prepare_runs_in_this_process_before_the_worker_gets_the_attempt(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p = pool(parallelism=2)
    keys = [p.submit(f"t{i}", "check_marker", path=str(tmp_path / f"t{i}")) for i in range(4)]

    outcomes = dict(p.collect(4))

    for key in keys:
        assert outcomes[key].state is SUCCESS, outcomes[key].error
        assert outcomes[key].rendered_fields["pid"] == p.pid_of(key)
    worker = p.prepared[0][1]
    assert worker.hostname and worker.worker_id.startswith("worker-") and worker.started_at > 0


def test_prepare_returning_none_drops_the_key(pool: Callable[..., Pool]) -> None:
    p = pool(parallelism=1)
    dropped = p.submit("dropped", None)
    kept = p.submit("kept", "noop")

    assert p.collect(1)[0][0] == kept
    assert dropped in [key for key, _ in p.prepared]
    assert not p.executor.has_work
    assert p.executor.poll(timeout=0.05) == []


def test_an_exception_is_a_failed_outcome_and_the_worker_goes_on(
    pool: Callable[..., Pool],
) -> None:
    p = pool(parallelism=1)
    boom = p.submit("boom", "fail", message="boom")
    junk = p.submit("junk", "wrong_type")
    after = p.submit("after", "noop")

    got = dict(p.collect(3))

    assert got[boom].state is FAILED
    assert got[boom].error == "ValueError: boom"
    assert got[junk].state is FAILED
    assert "returned int, not an AttemptOutcome" in (got[junk].error or "")
    assert got[after].state is SUCCESS
    assert p.pid_of(boom) == p.pid_of(junk) == got[after].rendered_fields["pid"]


@pytest.mark.parametrize(
    ("action", "kwargs", "error"),
    [
        ("segfault", {}, "worker process died with signal SIGSEGV while running the task"),
        ("exit_now", {"code": 3}, "worker process exited with code 3 while running the task"),
    ],
)
def test_a_crashing_task_kills_only_its_worker(
    pool: Callable[..., Pool], action: str, kwargs: dict[str, Any], error: str
) -> None:
    p = pool(parallelism=1)
    crash = p.submit("crash", action, **kwargs)
    after = p.submit("after", "noop")

    got = dict(p.collect(2))

    assert got[crash].state is FAILED
    assert got[crash].error == error
    assert got[after].state is SUCCESS
    assert got[after].rendered_fields["pid"] != p.pid_of(crash)
    wait_until(lambda: len(p.worker_pids()) == 1, "the pool to be back to one worker")


def test_a_worker_killed_with_sigkill_is_reported_and_replaced(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p = pool(parallelism=1)
    victim = p.submit("victim", "wait", ready=str(tmp_path / "ready"))
    p.wait_until((tmp_path / "ready").exists, "the task to start")

    os.kill(p.executor.running()[victim].pid, signal.SIGKILL)

    outcome = p.outcome(victim)
    assert outcome.state is FAILED
    assert outcome.error == "worker process died with signal SIGKILL while running the task"
    after = p.submit("after", "noop")
    assert p.outcome(after).state is SUCCESS


def test_hard_timeout_terminates_then_kills_a_task_that_ignores_sigterm(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    clock = FakeClock()
    p = pool(parallelism=1, kill_grace_s=2.0, clock=clock)
    stuck = p.submit("stuck", "stubborn", timeout_s=30.0, ready=str(tmp_path / "ready"))
    child = int(p.wait_until(lambda: _read(tmp_path / "ready"), "the task to start"))
    pid = p.executor.running()[stuck].pid

    clock.advance(timedelta(seconds=31))
    p.executor.heartbeat()  # past timeout_s but within the grace: nothing yet
    assert p.executor.poll(timeout=0) == []
    clock.advance(timedelta(seconds=1))
    p.executor.heartbeat()  # past timeout_s + grace: SIGTERM, which the task ignores
    assert p.executor.poll(timeout=0.2) == []
    assert not gone(pid)
    clock.advance(timedelta(seconds=2))

    outcome = p.outcome(stuck)  # the grace passed again: SIGKILL
    assert outcome.state is FAILED
    assert outcome.error == "timed out after 30 s (execution_timeout); worker killed"
    assert gone(pid)
    wait_until(lambda: gone(child), "the task's command to be killed with its worker", 5)
    assert p.outcome(p.submit("after", "noop")).state is SUCCESS


def test_sigterm_unwinds_the_task_before_the_worker_ends(
    pool: Callable[..., Pool], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="headwater.executors.local")
    clock = FakeClock()
    p = pool(parallelism=1, kill_grace_s=60.0, clock=clock)
    slow = p.submit(
        "slow", "wait", timeout_s=1.0, ready=str(tmp_path / "ready"), cleanup=str(tmp_path / "c")
    )
    p.wait_until((tmp_path / "ready").exists, "the task to start")

    clock.advance(timedelta(seconds=61))
    outcome = p.outcome(slow)  # poll checks the deadline too

    assert outcome.error == "timed out after 1 s (execution_timeout); worker killed"
    assert (tmp_path / "c").read_text() == "unwound"
    # The log names the task as people read it, not as a Python repr.
    [line] = [r.getMessage() for r in caplog.records if "Terminating" in r.getMessage()]
    assert "running task slow (try 1) of run run of DAG dag: timed out after 1 s" in line, line


def test_kill_drops_a_queued_key_and_terminates_a_running_one(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p = pool(parallelism=1)
    running = p.submit("running", "wait", ready=str(tmp_path / "ready"))
    queued = p.submit("queued", "noop")
    p.wait_until((tmp_path / "ready").exists, "the task to start")

    p.executor.kill(queued)
    p.executor.kill(running)

    outcome = p.outcome(running)
    assert outcome.state is FAILED
    assert (outcome.error or "").startswith("killed")
    assert queued not in [key for key, _ in p.prepared]
    assert not p.executor.has_work
    assert p.outcome(p.submit("after", "noop")).state is SUCCESS


def test_a_worker_over_its_memory_limit_is_replaced(pool: Callable[..., Pool]) -> None:
    p = pool(parallelism=1, max_worker_memory_mb=120)
    small = p.submit("small", "noop")
    big = p.submit("big", "hog", mb=200)
    after = p.submit("after", "noop")

    got = dict(p.collect(3))

    assert got[big].state is SUCCESS
    assert p.pid_of(small) == p.pid_of(big)
    assert got[after].rendered_fields["pid"] != got[big].rendered_fields["pid"]
    wait_until(lambda: gone(p.pid_of(big)), "the recycled worker to exit")


def test_max_tasks_per_worker_recycles_workers(pool: Callable[..., Pool]) -> None:
    p = pool(parallelism=1, max_tasks_per_worker=2)
    keys = [p.submit(f"t{i}", "noop") for i in range(5)]

    got = dict(p.collect(5))

    pids = [got[key].rendered_fields["pid"] for key in keys]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert len(set(pids)) == 3


def test_stop_leaves_no_worker_processes(pool: Callable[..., Pool], tmp_path: Path) -> None:
    p = pool(parallelism=3, kill_grace_s=0.5)
    p.submit("busy", "wait", ready=str(tmp_path / "busy"))
    p.submit("stuck", "stubborn", ready=str(tmp_path / "stuck"))
    p.submit("queued", "noop")
    p.submit("never", "noop")
    child = int(p.wait_until(lambda: _read(tmp_path / "stuck"), "the stubborn task to start"))
    p.wait_until((tmp_path / "busy").exists, "the busy task to start")
    pids = p.worker_pids()
    assert len(pids) == 3

    p.executor.stop()
    p.executor.stop()

    assert p.worker_pids() == set()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    wait_until(lambda: gone(child), "the stubborn task's command to be killed", 5)
    assert p.executor.running() == {}
    with pytest.raises(HeadwaterError, match="before start"):
        p.executor.queue(AttemptKey("dag", "run", "late", -1, 1))


def test_a_busy_worker_outlives_its_scheduler_only_to_finish_its_attempt(
    tmp_path: Path,
) -> None:
    """Killing the worker with its scheduler could lose an attempt whose code had finished
    (and run it twice): a busy worker finishes its attempt and then exits; an idle one exits
    at once. Neither takes more work."""
    ready, release = tmp_path / "ready", tmp_path / "release"
    script = f"""
import sys
from headwater.engine.records import AttemptKey
from headwater.executors.local import Dispatch, LocalExecutor

def prepare(k, w):
    if k.task_id == "busy":
        return Dispatch(("hold", {{"ready": {str(ready)!r}, "release": {str(release)!r}}}))
    return Dispatch(("noop", {{}}))

executor = LocalExecutor(parallelism=2, worker_function={WORKER_FUNCTION!r}, prepare=prepare)
executor.start()
executor.queue(AttemptKey("dag", "run", "busy", -1, 1))
executor.queue(AttemptKey("dag", "run", "quick", -1, 1))
while len(executor.poll(timeout=60)) == 0:
    pass
print(" ".join(map(str, executor.worker_pids())), flush=True)
executor.poll(timeout=120)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(worker_tasks.__file__)])}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True
    ) as scheduler:
        assert scheduler.stdout is not None
        workers = [int(pid) for pid in scheduler.stdout.readline().split()]
        assert len(workers) == 2
        # The file exists a moment before its pid is written in it.
        wait_until(lambda: ready.exists() and ready.read_text(), "the busy task to start")
        busy = int(ready.read_text())
        (idle,) = set(workers) - {busy}

        scheduler.kill()
        scheduler.wait()

        wait_until(lambda: gone(idle), "the idle worker to exit with its scheduler")
        assert not gone(busy)  # still running its attempt
        release.write_text("go")
        wait_until(lambda: gone(busy), "the busy worker to exit once its attempt ended")


def test_bad_arguments_are_refused() -> None:
    def prepare(key: AttemptKey, worker: WorkerInfo) -> Dispatch:
        return Dispatch(None)

    with pytest.raises(HeadwaterError, match="parallelism"):
        LocalExecutor(parallelism=0, worker_function=WORKER_FUNCTION, prepare=prepare)
    with pytest.raises(HeadwaterError, match="module:function"):
        LocalExecutor(parallelism=1, worker_function="nope", prepare=prepare)
    with pytest.raises(HeadwaterError, match="queued_ahead cannot be negative"):
        LocalExecutor(
            parallelism=1, worker_function=WORKER_FUNCTION, prepare=prepare, queued_ahead=-1
        )
    missing = LocalExecutor(parallelism=1, worker_function="no_such_module:run", prepare=prepare)
    with pytest.raises(HeadwaterError, match="cannot be loaded: ModuleNotFoundError"):
        missing.start()
    missing.stop()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def test_workers_start_when_attempts_need_them_up_to_parallelism(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    p = pool(parallelism=3)
    assert p.executor.worker_pids() == []  # started, idle: no worker process yet

    release = str(tmp_path / "release")
    keys = [
        p.submit(f"t{i}", "hold", ready=str(tmp_path / f"t{i}"), release=release) for i in range(2)
    ]
    assert len(p.executor.worker_pids()) == 2  # one per attempt, not parallelism
    for i in range(2):
        p.wait_until((tmp_path / f"t{i}").exists, f"task t{i} to start")
    more = [p.submit(f"u{i}", "noop") for i in range(3)]
    assert len(p.executor.worker_pids()) == 3  # never more than parallelism

    (tmp_path / "release").write_text("go")
    got = dict(p.collect(5))
    assert {got[k].state for k in keys + more} == {SUCCESS}
    assert len({o.rendered_fields["pid"] for o in got.values()}) <= 3


def test_a_worker_that_reports_gets_the_next_queued_attempt_before_poll_returns(
    pool: Callable[..., Pool], tmp_path: Path
) -> None:
    # What the scheduler queues ahead (scheduler.queued_ahead) waits here, not in the database:
    # the worker that ends an attempt is handed the next one by the same poll that reports
    # the end, before the scheduler writes anything.
    p = pool(parallelism=1, queued_ahead=2)
    assert p.executor.queued_ahead == 2
    release = tmp_path / "release"
    first = p.submit("first", "hold", ready=str(tmp_path / "first"), release=str(release))
    second, third = p.submit("second", "noop"), p.submit("third", "noop")
    p.wait_until((tmp_path / "first").exists, "the first attempt to start")
    assert list(p.executor.running()) == [first]  # one worker: the others wait their turn
    assert len(p.executor.worker_pids()) == 1

    release.write_text("go")
    reported: list[tuple[AttemptKey, AttemptOutcome]] = []
    while not reported:
        reported = p.executor.poll(timeout=0.5)
    assert [key for key, _ in reported] == [first]
    assert list(p.executor.running()) == [second]  # sent by the poll that reported first

    got = dict(p.collect(2))
    assert {got[second].state, got[third].state} == {SUCCESS}
    assert [key for key, _ in p.prepared] == [first, second, third]
    assert len({o.rendered_fields["pid"] for o in got.values()}) == 1


def test_idle_workers_exit_after_the_idle_timeout(pool: Callable[..., Pool]) -> None:
    clock = FakeClock()
    p = pool(parallelism=2, idle_timeout_s=30.0, clock=clock)
    first = p.submit("first", "noop")
    pid = p.outcome(first).rendered_fields["pid"]

    clock.advance(timedelta(seconds=29))
    p.executor.heartbeat()
    assert p.executor.worker_pids() == [pid]  # idle, but not for long enough
    clock.advance(timedelta(seconds=2))
    p.wait_until(lambda: not p.executor.worker_pids(), "the idle worker to exit")

    assert gone(pid)
    after = p.submit("after", "noop")
    assert p.outcome(after).rendered_fields["pid"] != pid  # a new worker, on demand


def test_workers_that_cannot_start_back_off_say_it_once_then_give_up(
    pool: Callable[..., Pool], caplog: pytest.LogCaptureFixture
) -> None:
    import broken_worker

    clock = FakeClock()
    p = pool(
        parallelism=4,
        start_attempts=3,
        clock=clock,
        worker_function=f"{broken_worker.__name__}:run",
    )
    key = p.submit("doomed", "noop")

    p.wait_until(lambda: not p.executor.worker_pids(), "the first start to fail")
    p.executor.heartbeat()
    assert p.executor.worker_pids() == []  # backing off: no start before 0.5 s
    clock.advance(timedelta(seconds=0.5))
    p.executor.heartbeat()
    assert len(p.executor.worker_pids()) == 1  # one attempt waits: one worker, not four
    p.wait_until(lambda: not p.executor.worker_pids(), "the second start to fail")
    clock.advance(timedelta(seconds=1))

    with pytest.raises(WorkerStartError) as raised:
        p.wait_until(lambda: False, "the executor to give up")
    assert str(raised.value) == (
        f"worker processes cannot start: cannot load {broken_worker.__name__}:run: "
        f"RuntimeError: {broken_worker.FAILURE} (3 failed starts in a row, setting "
        "scheduler.worker_start_attempts)"
    )
    said = [r for r in caplog.records if broken_worker.FAILURE in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "ERROR"
    assert key not in [k for k, _ in p.prepared]  # no attempt was started for it
