"""The Celery executor's backstops, with real processes: Celery's hard time limit for a task
that defeats the runtime's ``execution_timeout``, and Redis's visibility timeout for the
message of a worker killed mid-attempt (the claim refuses the redelivery)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from celery_harness import Cluster

from command_processes import alive, wait_for
from headwater.celery_executor.app import build_app, task_id_for
from headwater.celery_executor.results import TaskReport, read_reports
from headwater.engine.records import AttemptKey
from headwater.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def _ledger(cluster: Cluster) -> list[tuple[str, ...]]:
    """What the tasks (and the test) noted, in order: ``(event, try, pid)`` lines."""
    path = cluster.folder.parent / "ledger"
    lines = path.read_text().split("\n") if path.exists() else []
    return [tuple(line.split()) for line in lines if line]


def _note(cluster: Cluster, line: str) -> None:
    with (cluster.folder.parent / "ledger").open("a") as f:
        f.write(line + "\n")


def _at_most_one_at_a_time(ledger: list[tuple[str, ...]]) -> bool:
    """Whether no try started while another ran (``killed`` ends the one running)."""
    running = 0
    for event, *_ in ledger:
        running += {"start": 1, "end": -1, "killed": -1}[event]
        if running > 1:
            return False
    return True


def _report(cluster: Cluster, key: AttemptKey, monkeypatch: pytest.MonkeyPatch) -> TaskReport:
    """What the result backend holds for the Celery task of attempt ``key`` (its last
    delivery's), read as the executor reads it."""
    for name, value in cluster.env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings().celery
    app = build_app(settings)
    task_id = task_id_for(key, settings)
    try:
        found: dict[str, TaskReport] = {}

        def ended() -> bool:
            found.update(read_reports(app.backend, [task_id]))
            return task_id in found and found[task_id].outcome is not None

        wait_for(ended, f"a result for the Celery task of {key}", timeout_s=30)
    finally:
        app.close()
    return found[task_id]


KILLED_AT_THE_LIMIT = (
    "timed out after 1 s (execution_timeout); the Celery worker killed the process running it"
)
"""What Celery stores when its pool killed the process at the hard time limit."""
STOPPED_AT_THE_LIMIT = (
    "TaskTimeoutError: task timed out after 1 seconds (execution_timeout), at the Celery "
    "worker's hard time limit (it ignored the runtime's own timeout)"
)
"""What the attempt records when the pool's SIGTERM at the limit reached it (0.1 s before the
pool's SIGKILL: whichever wins, the error says the same)."""


@pytest.mark.parametrize(
    "ignored", [("SIGALRM",), ("SIGALRM", "SIGTERM")], ids=["alarm", "alarm-and-term"]
)
def test_a_task_that_ignores_its_execution_timeout_is_killed_by_the_hard_time_limit(
    redis_cluster: Cluster, ignored: tuple[str, ...]
) -> None:
    """The runtime's ``execution_timeout`` is a SIGALRM; a task that ignores it runs on past
    it until Celery's hard time limit (timeout + kill_grace_s + time_limit_allowance_s) kills
    its process.
    The attempt fails saying so (never billiard's bare ``SystemExit: -241``), the run ends,
    and the worker, its pool process replaced, runs the next task."""
    redis_cluster.env["HEADWATER__CELERY__TIME_LIMIT_ALLOWANCE_S"] = "2"
    ledger = redis_cluster.folder.parent / "ledger"
    redis_cluster.write_dag(
        "stubborn",
        f"""
        import os, signal, time

        def ignore_the_timeout():
            with open({str(ledger)!r}, "a") as f:
                f.write(f"start 1 {{os.getpid()}}\\n")
            # The runtime's timeout is a SIGALRM; the pool's hard kill a SIGTERM, then SIGKILL.
            for ignored in {ignored!r}:
                signal.signal(getattr(signal, ignored), signal.SIG_IGN)
            time.sleep(120)
            with open({str(ledger)!r}, "a") as f:
                f.write(f"end 1 {{os.getpid()}}\\n")

        with DAG("stubborn", start_date=START):
            PythonOperator(task_id="stuck", python_callable=ignore_the_timeout, retries=0,
                           execution_timeout=timedelta(seconds=1))
        """,
    )
    redis_cluster.write_dag(
        "next",
        """
        import os

        with DAG("next", start_date=START):
            PythonOperator(task_id="quick", python_callable=os.getpid)
        """,
    )
    run = redis_cluster.trigger("stubborn")
    worker = redis_cluster.start_worker("one")
    scheduler = redis_cluster.start_scheduler()
    assert redis_cluster.wait_finished(run) == "failed"
    (attempt,) = redis_cluster.attempts(run, "stuck")
    assert attempt.state.value == "failed"
    if "SIGTERM" in ignored:
        assert attempt.error == KILLED_AT_THE_LIMIT
    else:
        assert attempt.error in (KILLED_AT_THE_LIMIT, STOPPED_AT_THE_LIMIT), attempt.error
    assert attempt.end_date is not None
    # Celery's limit, 1 s + kill_grace_s (1 s) + 2 s to start, not a lost heartbeat.
    assert "Hard time limit (4.0s) exceeded" in redis_cluster.log("one")
    ((event, try_number, pid),) = _ledger(redis_cluster)  # started once, never ended
    assert (event, try_number) == ("start", "1")
    wait_for(lambda: not alive(int(pid)), "the process running it to be killed", timeout_s=10)
    # The worker lives on and runs the next task, in a new pool process.
    assert worker.poll() is None
    following = redis_cluster.trigger("next")
    assert redis_cluster.wait_finished(following) == "success"
    (quick,) = redis_cluster.attempts(following, "quick")
    assert redis_cluster.xcom(following, "quick") == quick.pid != int(pid)
    assert quick.hostname == attempt.hostname
    assert worker.poll() is None
    assert redis_cluster.stop_scheduler(scheduler) == 0


def test_a_killed_workers_message_redelivered_after_the_visibility_timeout_is_refused(
    redis_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-attempt never acknowledges its message: after
    ``visibility_timeout_s`` Redis gives it to another worker, whose claim refuses it (the
    dead worker claimed that try). The scheduler fails the lost try after
    ``task_heartbeat_timeout_s`` and retries it: each try's code runs once, one at a time."""
    redis_cluster.env["HEADWATER__CELERY__VISIBILITY_TIMEOUT_S"] = "3"
    ledger = redis_cluster.folder.parent / "ledger"
    release = redis_cluster.folder.parent / "release"
    redis_cluster.write_dag(
        "held",
        f"""
        import os, time
        from headwater import get_current_context

        def hold():
            try_number = get_current_context()["ti"].try_number
            with open({str(ledger)!r}, "a") as f:
                f.write(f"start {{try_number}} {{os.getpid()}}\\n")
            while not Path({str(release)!r}).exists():
                time.sleep(0.05)
            with open({str(ledger)!r}, "a") as f:
                f.write(f"end {{try_number}} {{os.getpid()}}\\n")
            return try_number

        with DAG("held", start_date=START):
            PythonOperator(task_id="hold", python_callable=hold, retries=1,
                           retry_delay=timedelta(0))
        """,
    )
    run = redis_cluster.trigger("held")
    first = redis_cluster.start_worker("first")
    scheduler = redis_cluster.start_scheduler()
    wait_for(lambda: _ledger(redis_cluster), "try 1 to start on the first worker")
    wait_for(lambda: redis_cluster.states(run)["hold"] == "running", "try 1 to be running")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its child, mid-attempt
    first.wait()
    _note(redis_cluster, "killed")
    Path(release).write_text("go")
    # Started at once, before try 1's message is 3 s old (unless this machine is slow to
    # start it): the second worker finds that message in one of its sweeps while it runs,
    # every second with this timeout, not only in the sweep it makes as it starts.
    second = redis_cluster.start_worker("second")
    assert redis_cluster.wait_finished(run) == "success"
    attempts = redis_cluster.attempts(run, "hold")
    assert [(a.try_number, a.state.value) for a in attempts] == [
        (1, "up_for_retry"),
        (2, "success"),
    ]
    assert "no heartbeat for over 4 s" in (attempts[0].error or "")
    assert redis_cluster.xcom(run, "hold") == 2
    # Try 1's message came again, to the second worker, and was refused there.
    report = _report(redis_cluster, AttemptKey("held", run.run_id, "hold", -1, 1), monkeypatch)
    assert report.outcome is not None and report.outcome.rejected
    assert report.outcome.error == "attempt 1 was started elsewhere already"
    assert report.pid != attempts[0].pid
    assert "attempt 1 was started elsewhere already; not run again here" in redis_cluster.log(
        "second"
    )
    # Each try's code ran once, and never while another ran.
    ledger_lines = _ledger(redis_cluster)
    assert [line[:2] for line in ledger_lines] == [
        ("start", "1"),
        ("killed",),
        ("start", "2"),
        ("end", "2"),
    ]
    assert _at_most_one_at_a_time(ledger_lines)
    assert int(ledger_lines[2][2]) == attempts[1].pid != attempts[0].pid
    assert second.poll() is None
    assert redis_cluster.stop_scheduler(scheduler) == 0
