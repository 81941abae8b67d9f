"""Deferral and reschedule-mode sensors in in-process runs (``run_dag``, the driver running
triggers inline): resuming with the event, timeouts, failed triggers, reschedules that wait
on the clock, sensor timeouts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deferral_triggers import (
    BrokenTrigger,
    CountingSensor,
    DeferTo,
    NeverTrigger,
    NowTrigger,
    WaitForFile,
)
from headwater import DAG
from headwater.clock import FakeClock
from headwater.sensors import PokeReturnValue
from headwater.settings import Settings
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag
from headwater.triggers.base import run_coroutine

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_deferred_task_resumes_in_its_method_with_the_event(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "ready.txt"
    with DAG("files", start_date=START) as dag:
        WaitForFile(task_id="wait", path=str(path))
    timer = threading.Timer(0.05, path.write_text, args=("hello",))
    timer.start()
    result = run_dag(dag, clock=clock, settings=settings)
    timer.join()
    assert result.task_states == {"wait": "success"}
    assert result.xcom("wait") == {"text": "hello", "started_in": 1}
    [first, second] = result.attempts("wait")
    assert (first.state.value, second.state.value) == ("deferred", "success")
    ti = result.ti("wait")
    assert (ti.try_number, ti.max_tries) == (2, 2)  # the resumed try is not a retry
    assert ti.next_method is None and ti.next_kwargs is None
    assert "Deferring to deferral_triggers.FileTrigger" in result.log("wait", try_number=1)
    assert "Task succeeded" in result.log("wait", try_number=2)
    assert isinstance(result.store, MemoryStore)
    assert result.store.list_triggers() == []  # deleted when the task resumed


def test_a_deferral_that_times_out_fails_and_is_retried(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("timeouts", start_date=START) as dag:
        DeferTo(
            task_id="wait",
            trigger=NeverTrigger(),
            timeout_s=0.05,
            retries=1,
            retry_delay=timedelta(minutes=5),
        )
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"wait": "failed"}
    states = [a.state.value for a in result.attempts("wait")]
    # defer, time out (retried), defer again, time out (no tries left)
    assert states == ["deferred", "up_for_retry", "deferred", "failed"]
    assert "TaskDeferralTimeout" in (result.ti("wait").error or "")
    assert "its trigger did not fire before the deferral timed out" in result.log("wait")
    assert isinstance(result.store, MemoryStore)
    assert result.store.list_triggers() == []


def test_a_failed_trigger_fails_the_task_with_its_error(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("broken", start_date=START) as dag:
        DeferTo(task_id="wait", trigger=BrokenTrigger())
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"wait": "failed"}
    error = result.ti("wait").error or ""
    assert error.startswith("TaskDeferralError: task 'wait': its trigger failed: ")
    assert "RuntimeError: the source is unreachable" in error


def test_the_event_payload_reaches_the_method_and_downstream_tasks_run(
    settings: Settings, clock: FakeClock
) -> None:
    from headwater.operators import PythonOperator

    with DAG("chain", start_date=START) as dag:
        wait = DeferTo(task_id="wait", trigger=NowTrigger({"rows": 3}))
        after = PythonOperator(
            task_id="after", python_callable=lambda ti: ti.xcom_pull("wait")["event"]["rows"]
        )
        wait >> after
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"wait": "success", "after": "success"}
    assert result.xcom("after") == 3


def test_defer_refuses_kwargs_that_are_not_json(settings: Settings, clock: FakeClock) -> None:
    class BadKwargs(DeferTo):
        def execute(self, context: dict[str, Any]) -> Any:
            self.defer(trigger=NowTrigger(), method_name="resume_here", kwargs={"at": object()})

    with DAG("bad", start_date=START) as dag:
        BadKwargs(task_id="bad", trigger=NowTrigger())
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"bad": "failed"}
    assert "task 'bad': the kwargs of defer() must be JSON values" in (result.ti("bad").error or "")


def test_defer_refuses_a_method_the_task_does_not_have(
    settings: Settings, clock: FakeClock
) -> None:
    class NoMethod(DeferTo):
        def execute(self, context: dict[str, Any]) -> Any:
            self.defer(trigger=NowTrigger(), method_name="nowhere")

    with DAG("bad", start_date=START) as dag:
        NoMethod(task_id="bad", trigger=NowTrigger())
    result = run_dag(dag, clock=clock, settings=settings)
    assert "task 'bad' defers to resume in 'nowhere', which NoMethod does not have" in (
        result.ti("bad").error or ""
    )


def test_a_reschedule_mode_sensor_pokes_in_new_tries_on_the_clock(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("sensing", start_date=START) as dag:
        CountingSensor(task_id="sense", done_at=3, mode="reschedule", poke_interval=60, retries=0)
    started = clock.now()
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"sense": "success"}
    assert result.xcom("sense") == {"pokes": 3}
    states = [a.state.value for a in result.attempts("sense")]
    assert states == ["up_for_reschedule", "up_for_reschedule", "success"]
    assert clock.slept == [60.0, 60.0]  # waited for each poke on the clock
    ti = result.ti("sense")
    assert (ti.try_number, ti.max_tries) == (3, 3)  # pokes are not retries
    assert "Rescheduling: next poke at" in result.log("sense", try_number=1)
    assert f"poke 3 (wait started at {started})" in result.log("sense", try_number=3)


def test_a_reschedule_mode_sensor_past_its_timeout_fails_without_retry(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("sensing", start_date=START) as dag:
        CountingSensor(
            task_id="sense", done_at=99, mode="reschedule", poke_interval=60, timeout=150, retries=3
        )
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"sense": "failed"}
    states = [a.state.value for a in result.attempts("sense")]
    assert states == ["up_for_reschedule", "up_for_reschedule", "up_for_reschedule", "failed"]
    assert "SensorTimeout: sensor 'sense' timed out after 150 s" in (result.ti("sense").error or "")


def test_a_reschedule_mode_sensor_with_soft_fail_is_skipped(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("sensing", start_date=START) as dag:
        CountingSensor(
            task_id="sense",
            done_at=99,
            mode="reschedule",
            poke_interval=60,
            timeout=90,
            soft_fail=True,
        )
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"sense": "skipped"}


def test_exponential_backoff_doubles_the_wait_between_pokes(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("sensing", start_date=START) as dag:
        CountingSensor(
            task_id="sense",
            done_at=4,
            mode="reschedule",
            poke_interval=10,
            exponential_backoff=True,
        )
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"sense": "success"}
    assert clock.slept == [10.0, 20.0, 40.0]


def test_defer_refuses_what_is_not_a_trigger(settings: Settings, clock: FakeClock) -> None:
    class NotATrigger(DeferTo):
        def execute(self, context: dict[str, Any]) -> Any:
            self.defer(trigger="a file", method_name="resume_here")

    with DAG("bad", start_date=START) as dag:
        NotATrigger(task_id="bad", trigger=NowTrigger())
    result = run_dag(dag, clock=clock, settings=settings)
    assert "task 'bad' deferred to 'a file', which is not a BaseTrigger" in (
        result.ti("bad").error or ""
    )


def test_task_sensor_pokes_the_function_until_it_says_done(
    settings: Settings, clock: FakeClock
) -> None:
    from headwater import task

    seen: list[int] = []

    with DAG("taskflow", start_date=START) as dag:

        @task.sensor(poke_interval=30, mode="reschedule")
        def table_ready(table: str, ti: Any = None) -> PokeReturnValue:
            seen.append(ti.try_number)
            return PokeReturnValue(len(seen) >= 2, xcom_value=f"{table}: ready")

        @task
        def load(status: str) -> str:
            return status.upper()

        load(table_ready("sales"))

    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"table_ready": "success", "load": "success"}
    assert seen == [1, 2]
    assert result.xcom("load") == "SALES: READY"
    assert clock.slept == [30.0]


def test_task_sensor_returning_false_past_its_timeout_fails(
    settings: Settings, clock: FakeClock
) -> None:
    from headwater import task

    with DAG("taskflow", start_date=START) as dag:

        @task.sensor(poke_interval=30, timeout=45, mode="reschedule")
        def never() -> bool:
            return False

        never()

    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"never": "failed"}
    assert "SensorTimeout" in (result.ti("never").error or "")


def test_a_dag_with_sensors_and_deferring_tasks_serializes(tmp_path: Path) -> None:
    from headwater import task
    from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag

    with DAG("mixed", start_date=START) as dag:

        @task.sensor(poke_interval=30, mode="reschedule")
        def ready() -> bool:
            return True

        ready() >> WaitForFile(task_id="wait", path=str(tmp_path / "x"))

    rebuilt = deserialize_dag(serialize_dag(dag))
    assert sorted(rebuilt.task_dict) == ["ready", "wait"]


def test_tasks_test_follows_a_deferral_and_reschedules_to_the_end(
    settings: Settings, clock: FakeClock
) -> None:
    from headwater.testing import run_task

    with DAG("one", start_date=START) as dag:
        wait = DeferTo(task_id="wait", trigger=NowTrigger("go"))
        sense = CountingSensor(task_id="sense", done_at=2, mode="reschedule", poke_interval=5)
        wait >> sense
    waited = run_task(dag, "wait", clock=clock, settings=settings)
    assert waited.task_states == {"wait": "success", "sense": "none"}
    assert waited.xcom("wait") == {"event": "go"}
    sensed = run_task(dag, "sense", clock=clock, settings=settings)
    assert sensed.state_of("sense") == "success"
    assert [a.state.value for a in sensed.attempts("sense")] == ["up_for_reschedule", "success"]


def test_execution_timeout_bounds_a_deferral_without_its_own_timeout(
    settings: Settings, clock: FakeClock
) -> None:
    with DAG("bounded", start_date=START) as dag:
        DeferTo(task_id="wait", trigger=NeverTrigger(), execution_timeout=timedelta(seconds=0.05))
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"wait": "failed"}
    first = result.attempts("wait")[0]
    assert first.outcome is not None and first.outcome.deferral is not None
    assert first.outcome.deferral.timeout_at == first.start_date + timedelta(seconds=0.05)
    assert "TaskDeferralTimeout" in (result.ti("wait").error or "")


def test_an_error_in_a_poke_is_retried_and_the_retry_starts_a_new_wait(
    settings: Settings, clock: FakeClock
) -> None:
    seen: list[tuple[int, int]] = []

    class FlakySensor(CountingSensor):
        def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
            ti = context["ti"]
            seen.append((ti.try_number, ti.previous_pokes))
            if ti.try_number == 2:
                raise ConnectionError("the source hung up")
            return super().poke(context)

    with DAG("flaky", start_date=START) as dag:
        FlakySensor(
            task_id="sense",
            done_at=2,
            mode="reschedule",
            poke_interval=10,
            retries=1,
            retry_delay=timedelta(seconds=30),
        )
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.task_states == {"sense": "success"}
    states = [a.state.value for a in result.attempts("sense")]
    assert states == ["up_for_reschedule", "up_for_retry", "up_for_reschedule", "success"]
    assert seen == [(1, 0), (2, 1), (3, 0), (4, 1)]
    assert clock.slept == [10.0, 30.0, 10.0]


def test_a_resumed_task_may_defer_again(settings: Settings, clock: FakeClock) -> None:
    class TwoSteps(DeferTo):
        def execute(self, context: dict[str, Any]) -> Any:
            self.defer(trigger=NowTrigger("one"), method_name="step_two")

        def step_two(self, context: dict[str, Any], event: Any) -> Any:
            self.defer(trigger=NowTrigger("two"), method_name="done", kwargs={"first": event})

        def done(self, context: dict[str, Any], event: Any, first: str) -> Any:
            return [first, event]

    with DAG("steps", start_date=START) as dag:
        TwoSteps(task_id="steps", trigger=NowTrigger())
    result = run_dag(dag, clock=clock, settings=settings)
    assert result.xcom("steps") == ["one", "two"]
    states = [a.state.value for a in result.attempts("steps")]
    assert states == ["deferred", "deferred", "success"]
    ti = result.ti("steps")
    assert (ti.try_number, ti.max_tries) == (3, 3)


def test_a_deferral_resumes_when_the_caller_already_runs_an_event_loop(
    settings: Settings, clock: FakeClock
) -> None:
    """``dag.test()`` from a notebook (or any code under a running event loop): the inline
    triggers run in a loop of their own instead of failing on ``asyncio.run``."""
    with DAG("notebook", start_date=START) as dag:
        DeferTo(task_id="wait", trigger=NowTrigger())

    async def in_a_notebook() -> Any:
        return run_dag(dag, clock=clock, settings=settings)

    result = run_coroutine(in_a_notebook())  # asyncio.run, unless a loop runs already
    assert result.task_states == {"wait": "success"}
    assert [a.state.value for a in result.attempts("wait")] == ["deferred", "success"]
