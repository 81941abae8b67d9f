"""Deferral and reschedule-mode sensors with real worker processes (the local executor) and
the scheduler's real loop on the system clock. The triggerer's write (firing a trigger) is
made here through the store."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import HEADER, wait_for

from headwater.clock import SystemClock
from headwater.engine.records import TaskInstanceKey
from headwater.engine.states import TaskInstanceState as S
from headwater.operations import trigger_run
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import build_scheduler
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from stored_dags import scan_here

# Real processes are slow: SQLite only (tests/scheduler/test_deferrals.py covers PostgreSQL).
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

TESTS = Path(__file__).resolve().parent.parent

DAGS = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from deferral_triggers import CountingSensor, WaitForFile

with DAG("waits", start_date=START, schedule=None):
    WaitForFile(task_id="wait", path="/nowhere/ready.txt")

with DAG("sensing", start_date=START, schedule=None):
    CountingSensor(
        task_id="sense", done_at=3, mode="reschedule", poke_interval=0.3, pool="one",
        priority_weight=10,
    )
    PythonOperator(task_id="other", python_callable=lambda: os.getpid(), pool="one")
"""


@pytest.fixture
def looping(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dags.py").write_text(HEADER + "import os\n" + DAGS)
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "4")
    monkeypatch.setenv("HEADWATER__SCHEDULER__LOOP_INTERVAL_S", "3600")
    monkeypatch.setenv("HEADWATER__SCHEDULER__NEW_RUN_CHECK_INTERVAL_S", "0.02")
    store = SqlStore.from_url(db_url)
    assert not scan_here(store, folder).errors
    store.set_pool("one", 1)
    scheduler: Scheduler = build_scheduler(load_settings(), store=store, clock=SystemClock())
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        yield store
    finally:
        stop.set()
        thread.join(timeout=30)
        store.close()
    assert not thread.is_alive()


def _state(store: SqlStore, dag_id: str, run_id: str, task_id: str) -> str:
    [ti] = [t for t in store.get_task_instances(dag_id, run_id) if t.task_id == task_id]
    return ti.state.value


def test_a_task_deferred_in_a_worker_resumes_in_a_worker_when_its_trigger_fires(
    looping: SqlStore,
) -> None:
    store = looping
    run = trigger_run(store, "waits", now=SystemClock().now())
    wait_for(lambda: _state(store, "waits", run.run_id, "wait") == "deferred", "the deferral")
    [trigger] = store.list_triggers()
    assert trigger.key.try_number == 1
    assert store.fire_trigger(trigger.id, {"text": "from the triggerer"}, SystemClock().now())
    wait_for(lambda: _state(store, "waits", run.run_id, "wait") == "success", "the resumed try")
    first, second = store.get_attempts("waits", run.run_id, "wait")
    assert (first.state, second.state) == (S.DEFERRED, S.SUCCESS)
    assert os.getpid() not in (first.pid, second.pid)  # both tries ran in workers
    xcom = store.get_xcom(TaskInstanceKey("waits", run.run_id, "wait"), "return_value")
    assert xcom is not None and "from the triggerer" in xcom
    assert store.list_triggers() == []


def test_a_reschedule_mode_sensor_frees_the_only_pool_slot_between_pokes(
    looping: SqlStore,
) -> None:
    store = looping
    run = trigger_run(store, "sensing", now=SystemClock().now())
    wait_for(lambda: _state(store, "sensing", run.run_id, "sense") == "success", "the sensor")
    pokes = store.get_attempts("sensing", run.run_id, "sense")
    [other] = store.get_attempts("sensing", run.run_id, "other")
    assert [p.state for p in pokes] == [S.UP_FOR_RESCHEDULE, S.UP_FOR_RESCHEDULE, S.SUCCESS]
    # The other task used the pool's only slot while the sensor waited between pokes.
    assert pokes[0].end_date is not None and other.end_date is not None
    assert pokes[0].end_date <= other.start_date and other.end_date <= pokes[2].start_date
