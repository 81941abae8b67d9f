"""Deferral and reschedule-mode sensors under the scheduler (in-process executor, fake
clock, SQLite and PostgreSQL): the triggerer's only write, firing or failing a trigger, is
made here directly through the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from scheduler_harness import Harness

from headwater.engine.records import AttemptOutcome, Deferral, TaskAttempt
from headwater.engine.states import TaskInstanceState as S
from headwater.operations.clearing import clear_task_instances
from headwater.store.triggers import WAITING

TESTS = Path(__file__).resolve().parent.parent

DEFERRING = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from deferral_triggers import WaitForFile

with DAG("waits", start_date=START, schedule=None):
    wait = WaitForFile(task_id="wait", path="/nowhere/ready.txt", timeout_s=TIMEOUT, retries=RETRIES)
    wait >> EmptyOperator(task_id="after")
"""


def _deferring_dag(harness: Harness, *, timeout_s: float | None = 3600, retries: int = 0) -> str:
    body = DEFERRING.replace("TIMEOUT", repr(timeout_s)).replace("RETRIES", str(retries))
    harness.write_dag("waits", body)
    harness.process()
    return harness.trigger("waits").run_id


def _deferred(harness: Harness, run_id: str) -> bool:
    return harness.states("waits", run_id)["wait"] == "deferred"


def test_a_fired_trigger_resumes_its_task_once_with_the_payload(harness: Harness) -> None:
    run_id = _deferring_dag(harness)
    harness.run_until(lambda: _deferred(harness, run_id))
    [trigger] = harness.store.list_triggers()
    assert (trigger.state, trigger.classpath) == (WAITING, "deferral_triggers.FileTrigger")
    assert trigger.key.try_number == 1
    ti = harness.tis("waits", run_id)["wait"]
    assert (ti.next_method, ti.next_kwargs) == ("execute_complete", {"started_in": 1})
    assert ti.trigger_timeout == trigger.timeout_at
    assert harness.scheduler._active == {}  # no worker slot, no pool slot while it waits

    assert harness.store.fire_trigger(trigger.id, {"text": "hi"}, harness.clock.now())
    harness.run_until(harness.finished("waits", run_id))
    assert harness.states("waits", run_id) == {"wait": "success", "after": "success"}
    assert harness.xcom("waits", run_id, "wait") == {"text": "hi", "started_in": 1}
    attempts = harness.attempts("waits", run_id, "wait")
    assert [a.state.value for a in attempts] == ["deferred", "success"]
    assert harness.store.list_triggers() == []
    ti = harness.tis("waits", run_id)["wait"]
    assert (ti.try_number, ti.max_tries, ti.next_method) == (2, 2, None)


def test_a_deferral_past_its_timeout_fails_then_retries(harness: Harness) -> None:
    run_id = _deferring_dag(harness, timeout_s=60, retries=1)
    harness.run_until(lambda: _deferred(harness, run_id))
    harness.clock.advance(timedelta(seconds=61))
    harness.run_until(lambda: harness.states("waits", run_id)["wait"] == "up_for_retry")
    [first, second] = harness.attempts("waits", run_id, "wait")
    assert (first.state, second.state) == (S.DEFERRED, S.UP_FOR_RETRY)
    assert "TaskDeferralTimeout" in (second.error or "")
    harness.step()
    assert harness.store.list_triggers() == []  # the pass deleted the orphan of try 1
    harness.clock.advance(timedelta(minutes=5))  # the retry delay
    harness.run_until(lambda: _deferred(harness, run_id))
    [trigger] = harness.store.list_triggers()
    assert trigger.key.try_number == 3  # the retry started over in execute, and deferred


def test_a_failed_trigger_fails_its_task(harness: Harness) -> None:
    run_id = _deferring_dag(harness)
    harness.run_until(lambda: _deferred(harness, run_id))
    [trigger] = harness.store.list_triggers()
    harness.store.fail_trigger(trigger.id, "HTTP 500 from the source", harness.clock.now())
    harness.run_until(harness.finished("waits", run_id))
    ti = harness.tis("waits", run_id)["wait"]
    assert ti.state is S.FAILED
    assert ti.error == (
        "TaskDeferralError: task 'wait': its trigger failed: HTTP 500 from the source"
    )
    assert harness.states("waits", run_id)["after"] == "upstream_failed"


def test_clearing_a_deferred_task_deletes_its_trigger(harness: Harness) -> None:
    run_id = _deferring_dag(harness)
    harness.run_until(lambda: _deferred(harness, run_id))
    clear_task_instances(harness.store, "waits", run_id, ["wait"], now=harness.clock.now())
    assert harness.store.list_triggers() == []
    harness.run_until(lambda: _deferred(harness, run_id))  # runs again: a new trigger
    [trigger] = harness.store.list_triggers()
    assert trigger.key.try_number == 2


def test_a_deferral_recorded_before_the_scheduler_died_is_applied_once(
    harness: Harness,
) -> None:
    run_id = _deferring_dag(harness)
    scheduler = harness.scheduler
    scheduler.tick()  # queued, handed to the executor, not run yet
    assert harness.states("waits", run_id)["wait"] == "queued"
    # A worker claims and runs the attempt, and records that it deferred; the scheduler
    # dies (kill -9) before it hears of it.
    key = harness.tis("waits", run_id)["wait"].key.attempt(1)
    now = harness.clock.now()
    attempt = TaskAttempt(*key, state=S.RUNNING, start_date=now)
    assert harness.store.claim_attempt(attempt)
    deferral = Deferral(
        "deferral_triggers.NowTrigger", {"payload": 1}, "execute_complete", {"started_in": 1}
    )
    assert harness.store.record_attempt_outcome(
        key, AttemptOutcome(S.DEFERRED, deferral=deferral), now
    )
    harness._scheduler = None  # gone without a word: its heartbeat stops
    timeout = scheduler.settings.scheduler.task_heartbeat_timeout_s
    harness.clock.advance(timedelta(seconds=timeout + 1))

    harness.step()  # a new scheduler starts and puts back what the last one left
    assert harness.states("waits", run_id)["wait"] == "deferred"
    [trigger] = harness.store.list_triggers()
    assert trigger.key == key
    harness.store.fire_trigger(trigger.id, {"text": "late"}, harness.clock.now())
    harness.run_until(harness.finished("waits", run_id))
    assert harness.xcom("waits", run_id, "wait") == {"text": "late", "started_in": 1}


SENSING = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from deferral_triggers import CountingSensor

with DAG("sensing", start_date=START, schedule=None):
    CountingSensor(
        task_id="sense", done_at=2, mode="reschedule", poke_interval=60, pool="one",
        priority_weight=10,
    )
    PythonOperator(task_id="other", python_callable=lambda: "ran", pool="one")
"""


def test_a_reschedule_mode_sensor_frees_its_pool_slot_between_pokes(harness: Harness) -> None:
    harness.store.set_pool("one", 1)
    harness.write_dag("sensing", SENSING)
    harness.process()
    run_id = harness.trigger("sensing").run_id
    harness.run_until(lambda: harness.states("sensing", run_id)["other"] == "success")
    # The sensor took the only slot first (its priority), poked, and gave the slot up: the
    # other task ran while the sensor waited for its next poke.
    assert harness.states("sensing", run_id)["sense"] == "up_for_reschedule"
    [poke] = harness.attempts("sensing", run_id, "sense")
    [other] = harness.attempts("sensing", run_id, "other")
    assert poke.state is S.UP_FOR_RESCHEDULE
    assert poke.end_date is not None and other.start_date >= poke.end_date
    ti = harness.tis("sensing", run_id)["sense"]
    assert ti.next_retry_at == poke.end_date + timedelta(seconds=60)

    harness.clock.advance(timedelta(seconds=60))
    harness.run_until(harness.finished("sensing", run_id))
    assert harness.states("sensing", run_id) == {"sense": "success", "other": "success"}
    assert harness.xcom("sensing", run_id, "sense") == {"pokes": 2}
    ti = harness.tis("sensing", run_id)["sense"]
    assert (ti.try_number, ti.max_tries) == (2, 2)


def test_marking_a_deferred_task_success_deletes_its_trigger_and_the_run_goes_on(
    harness: Harness,
) -> None:
    from headwater.operations.marking import mark_task_instances

    run_id = _deferring_dag(harness)
    harness.run_until(lambda: _deferred(harness, run_id))
    mark_task_instances(
        harness.store, "waits", run_id, ["wait"], "success", now=harness.clock.now()
    )
    assert harness.store.list_triggers() == []
    harness.run_until(harness.finished("waits", run_id))
    assert harness.states("waits", run_id) == {"wait": "success", "after": "success"}
    assert len(harness.attempts("waits", run_id, "wait")) == 1  # never resumed
