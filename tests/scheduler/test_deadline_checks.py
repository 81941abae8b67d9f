"""The scheduler's deadline check on a real database (SQLite, PostgreSQL), driven by a fake
clock: deadlines and SLAs are planned, met or missed once as time passes (while the work is
unfinished), survive a restart, and their callbacks run once in a child process that imports
the DAG file."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at, wait_for

from headwater.log_format import fields_of
from headwater.store.deadlines import DONE, MET, MISSED, PENDING, SLA, WAITING

MINUTE = timedelta(minutes=1)


def _late_dag(harness: Harness, calls: Path, *, own_callback: bool = True) -> None:
    """A DAG whose runs must finish a minute after they start; each call of its callback
    appends a line to ``calls``."""
    callback = "callback=write_call" if own_callback else ""
    harness.write_dag(
        "late",
        f"""
        from headwater import Deadline, DeadlineReference

        def write_call(context):
            with open({str(calls)!r}, "a") as out:
                out.write(" ".join([
                    context["run_id"], str(context["task_id"]), context["deadline"],
                    context["due_at"].isoformat(), context["reason"],
                ]) + "\\n")

        with DAG(
            "late",
            start_date=START,
            deadline=Deadline(
                reference=DeadlineReference.STARTED_AT,
                interval=timedelta(minutes=1),
                name="one_minute",
                {callback}
            ),
            sla_miss_callback=write_call,
        ):
            EmptyOperator(task_id="slow")
        """,
    )
    harness.process()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _callback_done(harness: Harness, dag_id: str) -> bool:
    rows, _ = harness.store.list_deadline_misses([dag_id])
    return bool(rows) and all(r.callback_state in (DONE, "failed") for r in rows)


def test_a_run_still_running_misses_its_deadline_once_and_calls_back(
    harness: Harness, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    _late_dag(harness, calls)
    run = harness.trigger("late")
    harness.scheduler.tick()  # the run starts; its task is queued, never polled here
    [row] = harness.store.list_deadlines("late", run.run_id)
    started = harness.store.get_dag_run("late", run.run_id)
    assert started is not None and started.start_date is not None
    assert (row.status, row.due_at, row.name) == (
        WAITING,
        started.start_date + MINUTE,
        "one_minute",
    )

    harness.clock.advance(timedelta(seconds=50))
    harness.scheduler.tick()
    assert harness.store.get_deadline(row.id).status == WAITING  # type: ignore[union-attr]

    harness.clock.advance(timedelta(seconds=20))
    harness.scheduler.tick()
    missed = harness.store.get_deadline(row.id)
    assert missed is not None and missed.status == MISSED
    assert missed.missed_at == harness.clock.now()
    assert missed.reason == "the run is not finished (running)"
    assert harness.states("late", run.run_id) == {"slow": "queued"}
    wait_for(lambda: _callback_done(harness, "late"), "the deadline callback")
    assert _lines(calls) == [
        f"{run.run_id} None one_minute {row.due_at.isoformat()} the run is not finished (running)"
    ]
    assert harness.store.get_deadline(row.id).callback_state == DONE  # type: ignore[union-attr]

    harness.clock.advance(MINUTE)
    harness.scheduler.tick()
    harness.run_until(harness.finished("late", run.run_id))
    harness.clock.advance(MINUTE)
    harness.scheduler.tick()
    assert harness.store.list_deadline_misses(["late"])[1] == 1
    assert len(_lines(calls)) == 1


def test_a_run_finished_in_time_meets_its_deadline(harness: Harness, tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    _late_dag(harness, calls)
    run = harness.trigger("late")
    harness.run_until(harness.finished("late", run.run_id))
    harness.clock.advance(2 * MINUTE)
    harness.scheduler.tick()
    [row] = harness.store.list_deadlines("late", run.run_id)
    assert (row.status, row.missed_at) == (MET, None)
    assert harness.store.list_deadline_misses(["late"]) == ([], 0)
    assert not calls.exists()


def test_a_deadline_due_while_no_scheduler_ran_is_missed_after_the_restart(
    harness: Harness, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    _late_dag(harness, calls)
    run = harness.trigger("late")
    harness.scheduler.tick()
    harness.scheduler.stop()  # stopped before the deadline; the run stays running
    harness._scheduler = None
    harness.clock.advance(5 * MINUTE)
    harness.scheduler.tick()  # a new scheduler on the same database
    [row] = harness.store.list_deadlines("late", run.run_id)
    assert row.status == MISSED
    wait_for(lambda: _callback_done(harness, "late"), "the deadline callback")
    harness.scheduler.stop()
    harness._scheduler = None
    harness.clock.advance(MINUTE)
    harness.scheduler.tick()  # and one more: nothing is recorded or called again
    assert harness.store.list_deadline_misses(["late"])[1] == 1
    assert len(_lines(calls)) == 1


def test_a_callback_its_scheduler_never_started_is_started_by_the_next(
    harness: Harness, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    _late_dag(harness, calls, own_callback=False)  # the DAG's sla_miss_callback is called
    run = harness.trigger("late")
    harness.scheduler.tick()
    [row] = harness.store.list_deadlines("late", run.run_id)
    # A scheduler recorded the miss, then died before it started the callback.
    harness.scheduler.stop()
    harness._scheduler = None
    assert harness.store.record_deadline_miss(
        row.id, row.due_at, "the run is not finished (running)", has_callback=True
    )
    assert harness.store.get_deadline(row.id).callback_state == PENDING  # type: ignore[union-attr]
    harness.clock.advance(5 * MINUTE)
    harness.scheduler.tick()
    wait_for(lambda: _callback_done(harness, "late"), "the deadline callback")
    assert len(_lines(calls)) == 1
    harness.clock.advance(MINUTE)
    harness.scheduler.tick()
    assert len(_lines(calls)) == 1


def test_a_task_sla_is_missed_while_the_task_is_unfinished(
    harness: Harness, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    harness.write_dag(
        "sla_dag",
        f"""
        def write_call(context):
            with open({str(calls)!r}, "a") as out:
                out.write(f"{{context['task_id']}} {{context['deadline']}} {{context['reason']}}\\n")

        with DAG("sla_dag", start_date=START, sla_miss_callback=write_call):
            first = EmptyOperator(task_id="first", sla=timedelta(minutes=5))
            second = EmptyOperator(task_id="second", sla=timedelta(seconds=30))
            first >> second
        """,
    )
    harness.process()
    run = harness.trigger("sla_dag")
    harness.scheduler.tick()
    rows = harness.store.list_deadlines("sla_dag", run.run_id)
    assert [(r.task_id, r.name, r.status) for r in rows] == [
        ("second", SLA, WAITING),
        ("first", SLA, WAITING),
    ]
    harness.clock.advance(MINUTE)
    harness.scheduler.tick()
    misses, total = harness.store.list_deadline_misses(["sla_dag"])
    assert total == 1 and misses[0].task_id == "second"
    assert misses[0].reason == "task second is not finished (none)"
    wait_for(lambda: _callback_done(harness, "sla_dag"), "the SLA callback")
    assert _lines(calls) == ["second sla task second is not finished (none)"]


def test_a_time_of_day_sla_is_due_after_the_data_interval_ends(harness: Harness) -> None:
    harness.write_dag(
        "daily",
        """
        from datetime import time

        with DAG("daily", schedule="@daily", start_date=START, catchup=False):
            EmptyOperator(task_id="report", sla=time(1, 0))
        """,
    )
    harness.process()
    harness.scheduler.tick()  # the run of Jan 3 (its data interval ends Jan 4, 00:00)
    [run] = harness.runs("daily")
    [row] = harness.store.list_deadlines("daily", run.run_id)
    assert (row.task_id, row.due_at, row.status) == ("report", at(4, 1, 0), WAITING)
    harness.clock.advance(timedelta(minutes=29))  # 00:59
    harness.scheduler.tick()
    assert harness.store.get_deadline(row.id).status == WAITING  # type: ignore[union-attr]
    harness.clock.advance(timedelta(minutes=2))
    harness.scheduler.tick()
    missed = harness.store.get_deadline(row.id)
    assert missed is not None and missed.status == MISSED
    assert missed.callback_state == "none"  # no sla_miss_callback


def test_the_miss_warning_carries_the_run_and_task_ids(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON log lines (and Sentry tags) take their ids from the record, as the scheduler's
    other lines about runs do (docs/logging.md)."""
    harness.write_dag(
        "sla_only",
        """
        with DAG("sla_only", start_date=START):
            EmptyOperator(task_id="load", sla=timedelta(seconds=30))
        """,
    )
    harness.process()
    run = harness.trigger("sla_only")
    harness.scheduler.tick()
    harness.clock.advance(MINUTE)
    with caplog.at_level(logging.WARNING, logger="headwater.scheduler.deadline_checks"):
        harness.scheduler.tick()
    [record] = [r for r in caplog.records if r.getMessage().startswith("Deadline missed")]
    assert fields_of(record) == {"dag_id": "sla_only", "run_id": run.run_id, "task_id": "load"}


def test_each_miss_is_counted_once_in_the_metrics(harness: Harness, tmp_path: Path) -> None:
    from headwater.metrics.definitions import REGISTRY

    def counted() -> float:
        value = REGISTRY.get_sample_value("headwater_deadline_misses_total", {"dag_id": "late"})
        return value or 0.0

    _late_dag(harness, tmp_path / "calls.txt")
    before = counted()
    harness.trigger("late")
    harness.scheduler.tick()
    for _ in range(3):
        harness.clock.advance(MINUTE)
        harness.scheduler.tick()
    assert counted() == before + 1
