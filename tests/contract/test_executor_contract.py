"""The executor contract: what every executor does with the attempts it is given, run against
each one (``executor_harness.SUBJECTS``: the in-process executor through the real task
runtime, the local executor over real worker processes).

Each test states one promise of the :class:`~headwater.executors.base.Executor` interface. A
case an executor has no part in is skipped with the reason (``ExecutorUnderTest.require``);
where an executor keeps a promise its own way (a kill that cannot interrupt an attempt
running in the caller's own thread), the test checks what it does instead. The scheduler's
side of stale results is in ``test_stale_results.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from executor_harness import SUBJECTS, ExecutorUnderTest

from headwater.engine.states import TaskInstanceState

SUCCESS = TaskInstanceState.SUCCESS
FAILED = TaskInstanceState.FAILED


@pytest.fixture(params=sorted(SUBJECTS))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutorUnderTest]:
    under_test = SUBJECTS[request.param](tmp_path)
    try:
        yield under_test
    finally:
        under_test.close()


def _runs(marker: Path) -> int:
    """How many times the ``succeed`` body that appends to ``marker`` ran."""
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_an_attempt_runs_and_is_reported_under_the_key_it_was_queued_with(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    key = subject.submit("extract", "succeed", try_number=3, marker=marker)

    outcome = subject.outcome(key)  # the same key: dag, run, task, map index and try 3

    assert outcome.state is SUCCESS, outcome.error
    assert outcome.error is None
    assert _runs(marker) == 1


def test_a_failing_attempt_is_reported_failed_with_its_error(
    subject: ExecutorUnderTest,
) -> None:
    key = subject.submit("load", "fail", try_number=2, message="the warehouse is down")

    outcome = subject.outcome(key)

    assert outcome.state is FAILED
    assert outcome.error == "ValueError: the warehouse is down"


def test_several_attempts_are_each_reported_once(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    keys = [
        subject.submit(f"t{i}", "succeed", try_number=1 + i % 3, marker=tmp_path / f"t{i}")
        for i in range(6)
    ]
    keys.append(subject.submit("broken", "fail", message="no"))

    got = subject.collect(len(keys))  # and nothing more afterwards

    assert sorted(key for key, _ in got) == sorted(keys)
    states = {key.task_id: outcome.state for key, outcome in got}
    assert states == {**{f"t{i}": SUCCESS for i in range(6)}, "broken": FAILED}
    assert [_runs(tmp_path / f"t{i}") for i in range(6)] == [1] * 6


def test_kill_drops_a_queued_attempt_which_never_runs(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    # A fresh executor: no worker is ready yet, so both wait in its queue until it is polled.
    dropped = subject.submit("dropped", "succeed", marker=tmp_path / "dropped")
    kept = subject.submit("kept", "succeed", marker=tmp_path / "kept")

    subject.executor.kill(dropped)

    assert subject.outcome(kept).state is SUCCESS  # the only report: none for the dropped one
    assert _runs(tmp_path / "dropped") == 0
    assert _runs(tmp_path / "kept") == 1


def test_kill_of_a_running_attempt(subject: ExecutorUnderTest, tmp_path: Path) -> None:
    """The local executor terminates the worker and reports the attempt failed. The
    in-process executor runs the attempt inside ``poll()`` on the caller's thread: a kill
    from elsewhere meanwhile cannot interrupt it, so it runs to its end and is reported as
    it ended (its ``execution_timeout`` is what bounds it)."""
    ready, release = tmp_path / "ready", tmp_path / "release"
    key = subject.submit("victim", "hold", ready=ready, release=release)

    def kill_then_release() -> None:
        subject.executor.kill(key)
        release.write_text("go")

    subject.while_running(ready, kill_then_release)
    outcome = subject.outcome(key)

    if subject.stops_running_attempts:
        assert outcome.state is FAILED
        assert outcome.error == "killed on request; worker process terminated"
    else:
        assert outcome.state is SUCCESS, outcome.error
    after = subject.submit("after", "succeed", marker=tmp_path / "after")
    assert subject.outcome(after).state is SUCCESS  # the executor goes on


def test_an_attempt_past_its_execution_timeout_fails(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    """Local: the executor's hard timeout (``timeout_s`` + ``kill_grace_s`` on its clock)
    kills the worker. In process: the runtime's own ``execution_timeout`` ends the task."""
    ready = tmp_path / "ready"
    key = subject.submit(
        "slow", "hold", timeout_s=subject.timeout_s, ready=ready, release=tmp_path / "never"
    )

    subject.pass_timeout(ready)
    outcome = subject.outcome(key)

    assert outcome.state is FAILED
    assert outcome.error == subject.timeout_error()


def test_a_worker_killed_with_sigkill_fails_its_attempt(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    subject.require("lost_worker")
    ready = tmp_path / "ready"
    key = subject.submit("victim", "hold", ready=ready, release=tmp_path / "never")

    subject.while_running(ready, lambda: os.kill(subject.worker_pid(key), signal.SIGKILL))
    outcome = subject.outcome(key)

    assert outcome.state is FAILED
    assert outcome.error == "worker process died with signal SIGKILL while running the task"
    after = subject.submit("after", "succeed", marker=tmp_path / "after")
    assert subject.outcome(after).state is SUCCESS  # a fresh worker took its place


def test_adopt_refuses_what_is_not_a_worker_left_running_here(
    subject: ExecutorUnderTest,
) -> None:
    key = subject.key("elsewhere")
    now = datetime.now(UTC)
    host = socket.gethostname()
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            assert not subject.executor.adopt(key, other.pid, host, now, None)  # not a worker
            assert not subject.executor.adopt(key, os.getpid(), host, now, None)  # this process
            assert not subject.executor.adopt(key, os.getpid(), "elsewhere.invalid", now, None)
        finally:
            other.kill()
    assert key not in subject.executor.running()
    assert subject.executor.poll(timeout=0) == []
    assert not subject.executor.has_work


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adoption uses pidfds (Linux)")
def test_a_worker_left_by_a_killed_executor_is_adopted_and_reported_when_it_ends(
    subject: ExecutorUnderTest, tmp_path: Path
) -> None:
    """The worker outlives its executor's process to finish the attempt. Adopted, it is
    watched like the executor's own, and reported when it ends: as *lost*, because only the
    database says whether it recorded an outcome (the scheduler looks there; these bodies
    record none)."""
    subject.require("adoption")
    ready, release = tmp_path / "ready", tmp_path / "release"
    key = subject.key("left", try_number=2)  # another executor, in another process, runs it
    pid = subject.leave_running_worker(key, ready, release)
    started = datetime.now(UTC)

    assert not subject.executor.adopt(key, pid, "elsewhere.invalid", started, None)
    assert subject.executor.adopt(key, pid, socket.gethostname(), started, None)
    assert subject.worker_pid(key) == pid
    assert subject.executor.has_work

    release.write_text("go")
    outcome = subject.outcome(key)

    assert outcome.state is FAILED and outcome.lost
    assert (outcome.error or "").startswith(
        f"lost: the worker process (pid {pid}, adopted after a scheduler restart) ended "
        "without recording how the attempt ended"
    )
    assert key not in subject.executor.running()
