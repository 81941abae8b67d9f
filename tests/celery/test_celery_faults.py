"""Faults with Celery: a worker killed with SIGKILL mid-attempt, a message delivered twice."""

from __future__ import annotations

import os
import signal
import uuid

import pytest
from celery_harness import Cluster

from command_processes import wait_for
from headwater.celery_executor.app import RUN_ATTEMPT_TASK, build_app
from headwater.celery_executor.results import read_reports
from headwater.engine.records import AttemptKey
from headwater.executors.messages import AttemptMessage
from headwater.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def _ledger_dag(cluster: Cluster, retries: int) -> None:
    """A task that notes each start in a ledger, and holds until the test lets it go."""
    ledger = cluster.folder.parent / "ledger"
    release = cluster.folder.parent / "release"
    cluster.write_dag(
        "held",
        f"""
        import os, time
        from headwater import get_current_context

        def hold():
            try_number = get_current_context()["ti"].try_number
            with open({str(ledger)!r}, "a") as f:
                f.write(f"{{try_number}} {{os.getpid()}}\\n")
            while not Path({str(release)!r}).exists():
                time.sleep(0.05)
            return try_number

        with DAG("held", start_date=START):
            PythonOperator(task_id="hold", python_callable=hold, retries={retries},
                           retry_delay=timedelta(0)) >> EmptyOperator(task_id="after")
        """,
    )


def _ledger(cluster: Cluster) -> list[tuple[int, int]]:
    path = cluster.folder.parent / "ledger"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(int(a), int(b)) for a, b in (line.split() for line in lines if line)]


@pytest.mark.parametrize(
    ("broker", "retries"), [("redis", 1), ("rabbitmq", 1), ("redis", 0)], indirect=["broker"]
)
def test_a_worker_killed_mid_attempt_is_failed_as_lost_and_retried_per_retries(
    cluster: Cluster, retries: int
) -> None:
    _ledger_dag(cluster, retries)
    run = cluster.trigger("held")
    first = cluster.start_worker("first")
    scheduler = cluster.start_scheduler()
    wait_for(lambda: _ledger(cluster), "try 1 to start on the first worker")
    wait_for(lambda: cluster.states(run)["hold"] == "running", "try 1 to be running")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its child, mid-attempt
    first.wait()
    (cluster.folder.parent / "release").write_text("go")
    cluster.start_worker("second")
    expected = "success" if retries else "failed"
    finished = cluster.wait_finished(run)
    attempts = cluster.attempts(run, "hold")
    assert finished == expected, [(a.try_number, a.state, a.error) for a in attempts]
    assert attempts[0].state.value == ("up_for_retry" if retries else "failed")
    assert "no heartbeat for over 4 s" in (attempts[0].error or "")
    if retries:
        assert [a.try_number for a in attempts] == [1, 2]
        assert attempts[1].state.value == "success"
        assert cluster.states(run) == {"hold": "success", "after": "success"}
        # Try 1 ran once (its redelivered message was refused), try 2 once, elsewhere.
        ledger = _ledger(cluster)
        assert [t for t, _ in ledger] == [1, 2]
        assert ledger[1][1] == attempts[1].pid != ledger[0][1]
    else:
        assert len(attempts) == 1
        assert cluster.states(run) == {"hold": "failed", "after": "upstream_failed"}
        assert [t for t, _ in _ledger(cluster)] == [1]
    assert all(a.end_date is not None for a in attempts)  # nothing left running
    assert cluster.stop_scheduler(scheduler) == 0


def test_a_message_delivered_again_never_runs_the_task_code_again(
    redis_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ledger_dag(redis_cluster, 0)
    (redis_cluster.folder.parent / "release").write_text("go")
    run = redis_cluster.trigger("held")
    redis_cluster.start_worker("one")
    scheduler = redis_cluster.start_scheduler()
    assert redis_cluster.wait_finished(run) == "success"
    assert redis_cluster.stop_scheduler(scheduler) == 0
    (attempt,) = redis_cluster.attempts(run, "hold")
    # The same attempt message, delivered twice more (as a broker redelivers it).
    for name, value in redis_cluster.env.items():
        monkeypatch.setenv(name, value)
    app = build_app(load_settings().celery)
    key = AttemptKey("held", run.run_id, "hold", -1, 1)
    message = AttemptMessage(key, str(redis_cluster.folder / "held.py"), attempt.log_path or "")
    try:
        results = [
            app.send_task(
                RUN_ATTEMPT_TASK,
                args=[message.to_json()],
                task_id=str(uuid.uuid4()),
                queue=redis_cluster.broker.default_queue,
            )
            for _ in range(2)
        ]
        # Read as the executor reads results (the worker publishes none for AsyncResult.get).
        ids = [result.id for result in results]

        def ended() -> bool:
            reports = read_reports(app.backend, ids)
            return all(i in reports and reports[i].outcome is not None for i in ids)

        wait_for(ended, "both deliveries to end")
        replies = [app.backend.get_task_meta(result.id)["result"] for result in results]
    finally:
        app.close()
    assert [reply["rejected"] for reply in replies] == [True, True]
    assert "attempt 1 was started elsewhere already" in replies[0]["outcome"]["error"]
    assert [t for t, _ in _ledger(redis_cluster)] == [1]  # the code ran once
    (again,) = redis_cluster.attempts(run, "hold")
    assert again.state.value == "success" and again.end_date == attempt.end_date
    assert redis_cluster.states(run) == {"hold": "success", "after": "success"}


def test_a_scheduler_killed_mid_attempt_is_replaced_and_the_attempt_adopted(
    redis_cluster: Cluster,
) -> None:
    _ledger_dag(redis_cluster, 0)
    run = redis_cluster.trigger("held")
    redis_cluster.start_worker("one")
    first = redis_cluster.start_scheduler()
    wait_for(lambda: redis_cluster.states(run)["hold"] == "running", "try 1 to be running")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    second = redis_cluster.start_scheduler()
    wait_for(lambda: "Watching task hold try 1 again" in redis_cluster.log("scheduler"), "adopt")
    (redis_cluster.folder.parent / "release").write_text("go")
    assert redis_cluster.wait_finished(run) == "success"
    (attempt,) = redis_cluster.attempts(run, "hold")
    assert attempt.state.value == "success"
    assert redis_cluster.xcom(run, "hold") == 1
    assert [t for t, _ in _ledger(redis_cluster)] == [1]  # ran once, never restarted
    assert redis_cluster.stop_scheduler(second) == 0


def test_a_scheduler_stopped_mid_attempt_revokes_it_and_the_next_one_runs_it_again(
    redis_cluster: Cluster,
) -> None:
    _ledger_dag(redis_cluster, 0)
    run = redis_cluster.trigger("held")
    redis_cluster.start_worker("one")
    first = redis_cluster.start_scheduler()
    wait_for(lambda: _ledger(redis_cluster), "try 1 to start on the worker")
    wait_for(lambda: redis_cluster.states(run)["hold"] == "running", "try 1 to be running")
    assert redis_cluster.stop_scheduler(first) == 0
    (stopped,) = redis_cluster.attempts(run, "hold")
    assert stopped.state.value == "failed" and "stopped" in (stopped.error or "")
    second = redis_cluster.start_scheduler()
    # The worker runs one attempt at a time: try 2 starts only because try 1 was terminated.
    wait_for(lambda: len(_ledger(redis_cluster)) == 2, "try 2 to start on the same worker")
    (redis_cluster.folder.parent / "release").write_text("go")
    assert redis_cluster.wait_finished(run) == "success"
    attempts = redis_cluster.attempts(run, "hold")
    assert [(a.try_number, a.state.value) for a in attempts] == [(1, "failed"), (2, "success")]
    assert redis_cluster.xcom(run, "hold") == 2  # the value of try 2; try 1's was not kept
    assert [t for t, _ in _ledger(redis_cluster)] == [1, 2]
    assert redis_cluster.stop_scheduler(second) == 0
