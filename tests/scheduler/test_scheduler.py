"""The scheduler over a real database with the in-process executor and a fake clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.engine.states import DagRunState
from headwater.executors.base import AttemptStarted
from headwater.operations import clear_task_instances


def test_cron_catchup_creates_one_run_per_complete_interval(harness: Harness) -> None:
    harness.write_dag(
        "daily",
        """
        with DAG("daily", schedule="@daily", start_date=START, catchup=True):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    harness.process()
    harness.step()
    runs = harness.runs("daily")
    assert [(r.run_id, r.run_type) for r in runs] == [
        ("scheduled__2024-01-01T00:00:00+00:00", "scheduled"),
        ("scheduled__2024-01-02T00:00:00+00:00", "scheduled"),
        ("scheduled__2024-01-03T00:00:00+00:00", "scheduled"),
    ]
    assert [(r.data_interval_start, r.data_interval_end) for r in runs] == [
        (at(1), at(2)),
        (at(2), at(3)),
        (at(3), at(4)),
    ]
    harness.run_until(lambda: all(r.state is DagRunState.SUCCESS for r in harness.runs("daily")))
    row = harness.store.get_dag("daily")
    assert row is not None
    assert row.next_dagrun_logical_date == at(4)
    assert row.next_dagrun_create_after == at(5)
    # Nothing more until the next interval ends; then exactly one more run.
    harness.step()
    assert len(harness.runs("daily")) == 3
    harness.clock.advance(timedelta(days=1))
    harness.step()
    assert [r.logical_date for r in harness.runs("daily")][-1] == at(4)


def test_without_catchup_only_the_latest_interval_runs(harness: Harness) -> None:
    harness.write_dag(
        "latest",
        """
        with DAG("latest", schedule="0 6 * * *", start_date=START, catchup=False):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.step()
    assert [(r.data_interval_start, r.data_interval_end) for r in harness.runs("latest")] == [
        (at(2, 6), at(3, 6))
    ]


def test_timedelta_schedule_and_end_date(harness: Harness) -> None:
    harness.write_dag(
        "every_16h",
        """
        with DAG(
            "every_16h",
            schedule=timedelta(hours=16),
            start_date=START,
            end_date=datetime(2024, 1, 2, 12, tzinfo=UTC),
            catchup=True,
        ):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.clock.advance(timedelta(days=3))
    harness.step()
    assert [r.logical_date for r in harness.runs("every_16h")] == [at(1), at(1, 16), at(2, 8)]


def test_max_active_runs_holds_back_later_runs(harness: Harness) -> None:
    harness.write_dag(
        "one_at_a_time",
        """
        with DAG("one_at_a_time", schedule="@daily", start_date=START, catchup=True,
                 max_active_runs=1):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.scheduler.tick()
    runs = harness.runs("one_at_a_time")
    assert [r.state.value for r in runs] == ["running"]
    harness.run_until(lambda: len(harness.runs("one_at_a_time")) == 3)
    harness.run_until(
        lambda: all(r.state is DagRunState.SUCCESS for r in harness.runs("one_at_a_time"))
    )


def test_a_paused_dag_gets_no_runs_until_unpaused(harness: Harness) -> None:
    harness.write_dag(
        "paused",
        """
        with DAG("paused", schedule="@daily", start_date=START, catchup=True,
                 is_paused_upon_creation=True):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.step()
    assert harness.runs("paused") == []
    harness.store.set_dag_paused("paused", False)
    harness.step()
    assert len(harness.runs("paused")) == 3


def test_values_mapping_and_branches_run_through_the_database(harness: Harness) -> None:
    harness.write_dag(
        "flow",
        """
        with DAG("flow", start_date=START, params={"n": 3}):
            @task
            def numbers(params):
                return list(range(params["n"]))

            @task
            def square(x):
                return x * x

            @task
            def total(values):
                return sum(values)

            @task.branch
            def pick(value):
                return "big" if value > 3 else "small"

            t = total(square.expand(x=numbers()))
            pick(t) >> [EmptyOperator(task_id="big"), EmptyOperator(task_id="small")]
        """,
    )
    harness.process()
    run = harness.trigger("flow", conf={"n": 4})
    harness.run_until(harness.finished("flow", run.run_id))
    assert harness.run_state("flow", run.run_id) == "success"
    states = harness.states("flow", run.run_id)
    assert states["square[3]"] == "success"
    assert states["big"] == "success"
    assert states["small"] == "skipped"
    total = harness.tis("flow", run.run_id)["total"]
    assert json.loads(harness.store.get_xcom(total.key, "return_value") or "null") == 14


def test_a_cleared_mapped_task_expands_again_without_overwriting_its_attempts(
    harness: Harness, tmp_path
) -> None:
    """Instances go on from their own last try: attempt rows and logs of try 1 are kept."""
    marker = tmp_path / "items.txt"
    marker.write_text("1,2,3")
    harness.write_dag(
        "remap",
        f"""
        with DAG("remap", start_date=START):
            @task
            def items():
                return [int(x) for x in Path({str(marker)!r}).read_text().split(",")]

            @task
            def show(x):
                print(f"item {{x}}")
                return x

            show.expand(x=items())
        """,
    )
    harness.process()
    run = harness.trigger("remap")
    harness.run_until(harness.finished("remap", run.run_id))
    first_logs = {a.map_index: a.log_path for a in harness.attempts("remap", run.run_id, "show")}

    marker.write_text("10,20,30,40")  # the upstream now yields one more item
    clear_task_instances(harness.store, "remap", run.run_id, ["items"], downstream=True, now=at(2))
    harness.run_until(harness.finished("remap", run.run_id))

    assert harness.run_state("remap", run.run_id) == "success"
    tries = [(a.map_index, a.try_number) for a in harness.attempts("remap", run.run_id, "show")]
    assert sorted(tries) == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2), (3, 1)]
    for index, path in first_logs.items():  # try 1's logs are still those of the first run
        assert path is not None and path.endswith("attempt=1.log")
        assert f"item {index + 1}" in Path(path).read_text()
    second = {
        a.map_index: a.log_path
        for a in harness.attempts("remap", run.run_id, "show")
        if a.try_number == 2
    }
    assert "item 20" in Path(second[1] or "").read_text()
    ti = harness.tis("remap", run.run_id)["show[0]"]
    assert (ti.try_number, ti.max_tries) == (2, 2)


def test_downstream_tasks_are_queued_as_soon_as_upstream_ends(harness: Harness) -> None:
    """No full pass after the first: each end schedules what it made ready, at once."""
    harness.write_dag(
        "chain",
        """
        with DAG("chain", start_date=START):
            a, b, c = (EmptyOperator(task_id=t) for t in "abc")
            a >> b >> c
        """,
    )
    harness.process()
    run = harness.trigger("chain")
    harness.step()  # one pass: the run starts and "a" is queued
    harness.run_until(harness.finished("chain", run.run_id), tick=False)
    assert harness.states("chain", run.run_id) == {"a": "success", "b": "success", "c": "success"}


def test_retries_wait_for_their_backoff(harness: Harness, tmp_path) -> None:
    marker = tmp_path / "tries.txt"
    harness.write_dag(
        "flaky",
        f"""
        MARKER = Path({str(marker)!r})

        def flaky():
            tries = int(MARKER.read_text()) if MARKER.exists() else 0
            MARKER.write_text(str(tries + 1))
            if tries < 2:
                raise RuntimeError(f"failure {{tries + 1}}")
            return "ok"

        with DAG("flaky", start_date=START):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=2,
                           retry_delay=timedelta(minutes=5), retry_exponential_backoff=True)
        """,
    )
    harness.process()
    run = harness.trigger("flaky")
    harness.step()
    assert harness.states("flaky", run.run_id) == {"flaky": "up_for_retry"}
    ti = harness.tis("flaky", run.run_id)["flaky"]
    assert ti.next_retry_at == harness.clock.now() + timedelta(minutes=5)
    harness.step()  # not due yet: nothing runs
    assert len(harness.attempts("flaky", run.run_id, "flaky")) == 1
    harness.clock.advance(timedelta(minutes=5))
    harness.step()
    ti = harness.tis("flaky", run.run_id)["flaky"]
    assert ti.state.value == "up_for_retry"
    assert ti.next_retry_at == harness.clock.now() + timedelta(minutes=10)  # doubled
    harness.clock.advance(timedelta(minutes=10))
    harness.run_until(harness.finished("flaky", run.run_id))
    attempts = harness.attempts("flaky", run.run_id, "flaky")
    assert [(a.try_number, a.state.value) for a in attempts] == [
        (1, "up_for_retry"),
        (2, "up_for_retry"),
        (3, "success"),
    ]
    assert attempts[1].start_date - attempts[0].start_date == timedelta(minutes=5)
    assert attempts[2].start_date - attempts[1].start_date == timedelta(minutes=10)
    assert "failure 1" in (attempts[0].error or "")


def test_pool_slots_and_priority_weight_order_the_work(harness: Harness, tmp_path) -> None:
    order = tmp_path / "order.txt"
    harness.write_dag(
        "pooled",
        f"""
        def record(name):
            with open({str(order)!r}, "a") as f:
                f.write(name + "\\n")

        with DAG("pooled", start_date=START):
            for name, weight in [("low", 1), ("high", 10), ("mid", 5)]:
                PythonOperator(task_id=name, python_callable=record, op_args=[name],
                               pool="db", priority_weight=weight)
        """,
    )
    harness.process()
    harness.store.set_pool("db", 1)
    run = harness.trigger("pooled")
    harness.scheduler.tick()
    # One slot: one instance queued at a time, the highest priority first.
    assert harness.states("pooled", run.run_id) == {
        "high": "queued",
        "low": "scheduled",
        "mid": "scheduled",
    }
    harness.run_until(harness.finished("pooled", run.run_id))
    assert order.read_text().split() == ["high", "mid", "low"]


def test_a_missing_pool_keeps_the_task_waiting(harness: Harness) -> None:
    harness.write_dag(
        "nopool",
        """
        with DAG("nopool", start_date=START):
            EmptyOperator(task_id="a", pool="missing")
        """,
    )
    harness.process()
    run = harness.trigger("nopool")
    harness.step()
    harness.step()
    assert harness.states("nopool", run.run_id) == {"a": "scheduled"}
    harness.store.set_pool("missing", 2)
    harness.run_until(harness.finished("nopool", run.run_id))
    assert harness.run_state("nopool", run.run_id) == "success"


def test_dagrun_timeout_fails_the_run(harness: Harness) -> None:
    harness.write_dag(
        "slow",
        """
        def fail():
            raise RuntimeError("no")

        with DAG("slow", start_date=START, dagrun_timeout=timedelta(minutes=30)):
            PythonOperator(task_id="fails", python_callable=fail, retries=3,
                           retry_delay=timedelta(hours=1)) >> EmptyOperator(task_id="after")
        """,
    )
    harness.process()
    run = harness.trigger("slow")
    harness.step()
    assert harness.states("slow", run.run_id)["fails"] == "up_for_retry"
    harness.clock.advance(timedelta(minutes=31))
    harness.step()
    assert harness.run_state("slow", run.run_id) == "failed"
    assert harness.states("slow", run.run_id) == {"fails": "skipped", "after": "skipped"}


def test_a_new_scheduler_puts_back_what_a_stopped_one_left(harness: Harness) -> None:
    harness.write_dag(
        "resume",
        """
        with DAG("resume", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    harness.process()
    run = harness.trigger("resume")
    first = harness.scheduler
    first.tick()  # "a" is queued; this scheduler stops before running it
    assert harness.states("resume", run.run_id)["a"] == "queued"
    first.stop()
    harness._scheduler = None  # a new scheduler on the same database
    harness.run_until(harness.finished("resume", run.run_id))
    assert harness.states("resume", run.run_id) == {"a": "success", "b": "success"}
    assert [a.try_number for a in harness.attempts("resume", run.run_id, "a")] == [1]


def test_a_second_scheduler_is_refused_on_sqlite_and_shares_postgresql(harness: Harness) -> None:
    import pytest

    from headwater.exceptions import HeadwaterError
    from headwater.scheduler.service import build_scheduler
    from headwater.settings import load_settings

    assert harness.scheduler.job_id is not None
    second = build_scheduler(load_settings(), store=harness.store, clock=harness.clock)
    if harness.url.startswith("sqlite"):
        with pytest.raises(HeadwaterError, match="another scheduler is running"):
            second.start()
        return
    second.start()  # PostgreSQL: several schedulers share the work (run claims)
    try:
        assert second.several_schedulers and second.job_id != harness.scheduler.job_id
    finally:
        second.stop()


def test_a_running_attempt_without_heartbeat_is_failed_and_retried(harness: Harness) -> None:
    harness.write_dag(
        "silent",
        """
        with DAG("silent", start_date=START):
            EmptyOperator(task_id="a", retries=1, retry_delay=timedelta(0))
        """,
    )
    harness.process()
    run = harness.trigger("silent")
    scheduler = harness.scheduler
    scheduler.tick()
    key = harness.tis("silent", run.run_id)["a"].key.attempt(1)
    # The attempt starts, then its worker vanishes without a word (the executor lost it).
    assert scheduler.prepare_attempt(key, 99999, "elsewhere") is not None
    scheduler.apply_started([AttemptStarted(key, "elsewhere", 99999, harness.clock.now())])
    scheduler.executor.kill(key)
    harness.clock.advance(timedelta(seconds=20))
    scheduler.tick()
    assert harness.states("silent", run.run_id) == {"a": "running"}  # not silent long enough
    harness.clock.advance(timedelta(seconds=15))
    harness.run_until(harness.finished("silent", run.run_id))
    lost, retried = harness.attempts("silent", run.run_id, "a")
    assert "no heartbeat" in (lost.error or "")
    assert retried.state.value == "success"


def test_dag_callbacks_run_when_a_run_ends(harness: Harness, tmp_path) -> None:
    import time

    seen = tmp_path / "callback.txt"
    harness.write_dag(
        "called_back",
        f"""
        def on_failure(context):
            Path({str(seen)!r}).write_text(context["run_id"] + " " + context["reason"])

        def boom():
            raise RuntimeError("boom")

        with DAG("called_back", start_date=START, on_failure_callback=on_failure):
            PythonOperator(task_id="boom", python_callable=boom)
        """,
    )
    harness.process()
    run = harness.trigger("called_back")
    harness.run_until(harness.finished("called_back", run.run_id))
    deadline = time.monotonic() + 30
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.read_text() == f"{run.run_id} task failed: boom"


def test_unpausing_without_catchup_runs_only_the_latest_missed_interval(harness: Harness) -> None:
    harness.write_dag(
        "resumed",
        """
        with DAG("resumed", schedule="@daily", start_date=START, catchup=False):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.step()
    assert [r.logical_date for r in harness.runs("resumed")] == [at(3)]
    harness.store.set_dag_paused("resumed", True)
    harness.clock.advance(timedelta(days=4))
    harness.step()
    harness.store.set_dag_paused("resumed", False)
    harness.step()
    assert [r.logical_date for r in harness.runs("resumed")] == [at(3), at(7)]


def test_a_paused_dag_keeps_its_queued_runs_waiting(harness: Harness) -> None:
    harness.write_dag(
        "held",
        """
        with DAG("held", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.store.set_dag_paused("held", True)
    run = harness.trigger("held")
    harness.step()
    assert harness.run_state("held", run.run_id) == "queued"
    harness.store.set_dag_paused("held", False)
    harness.run_until(harness.finished("held", run.run_id))
    assert harness.run_state("held", run.run_id) == "success"


def test_cron_without_catchup_reads_the_schedule_in_the_dag_time_zone(harness: Harness) -> None:
    harness.write_dag(
        "berlin",
        """
        from zoneinfo import ZoneInfo

        BERLIN = ZoneInfo("Europe/Berlin")
        with DAG("berlin", schedule="0 6 * * *", catchup=False,
                 start_date=datetime(2024, 1, 1, tzinfo=BERLIN)):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.step()
    (run,) = harness.runs("berlin")
    assert run.data_interval_start == at(2, 5)  # 06:00 in Berlin is 05:00 UTC in winter
    assert run.data_interval_end == at(3, 5)


def test_backfill_runs_execute_within_their_limit_and_are_not_scheduled_twice(
    harness: Harness,
) -> None:
    from headwater.operations import plan_backfill, run_backfill

    harness.write_dag(
        "bf",
        """
        with DAG("bf", schedule="@daily", start_date=START, catchup=True, max_active_runs=1):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.store.set_dag_paused("bf", True)
    plan = plan_backfill(harness.store, "bf", at(1), at(3), now=harness.clock.now())
    run_backfill(harness.store, plan, 2, harness.clock.now())
    harness.store.set_dag_paused("bf", False)
    harness.scheduler.tick()
    states = [r.state.value for r in harness.runs("bf")]
    assert sorted(states) == ["queued", "running", "running"]  # the backfill's limit is 2
    harness.run_until(lambda: all(r.state.value == "success" for r in harness.runs("bf")))
    # The scheduler found every interval already run: no scheduled__ duplicates.
    assert {r.run_type for r in harness.runs("bf")} == {"backfill"}
    assert len(harness.runs("bf")) == 3


@pytest.mark.parametrize(("run_backwards", "first"), [(True, 3), (False, 1)])
def test_a_backfill_starts_its_oldest_date_first_or_newest_when_run_backwards(
    harness: Harness, run_backwards: bool, first: int
) -> None:
    from headwater.operations import plan_backfill, run_backfill

    harness.write_dag(
        "bw",
        """
        with DAG("bw", schedule="@daily", start_date=START, catchup=True):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.store.set_dag_paused("bw", True)
    plan = plan_backfill(harness.store, "bw", at(1), at(3), now=harness.clock.now())
    run_backfill(harness.store, plan, 1, harness.clock.now(), run_backwards=run_backwards)
    harness.store.set_dag_paused("bw", False)
    harness.scheduler.tick()
    backfill_runs = [r for r in harness.runs("bw") if r.run_type == "backfill"]
    assert len(backfill_runs) == 3
    started = [r.logical_date for r in backfill_runs if r.state.value != "queued"]
    assert started == [at(first)]  # alone: the backfill's max_active_runs is 1
