"""Control flow under the scheduler (memory store, in-process executor): of the runs a
catching-up DAG gets, only the latest runs what follows ``LatestOnlyOperator``; in each,
the teardown runs after its failing work, and the run fails with the work, not the
teardown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduler_harness import Harness

from headwater.clock import FakeClock


def test_latest_only_and_a_teardown_in_scheduled_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LatestOnlyOperator compares with the time of day when it runs: the clock is now too.
    clock = FakeClock(datetime.now(UTC))
    harness = Harness.in_memory(tmp_path, monkeypatch, clock)
    try:
        harness.write_dag(
            "flow",
            """
            from headwater.operators import LatestOnlyOperator

            def diverge():
                raise RuntimeError("training diverged")

            TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            with DAG("flow", start_date=TODAY - timedelta(days=3), schedule="@daily",
                     catchup=True):
                LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="report")
                create = EmptyOperator(task_id="create").as_setup()
                train = PythonOperator(task_id="train", python_callable=diverge)
                delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
                create >> train >> delete
            """,
        )
        harness.process()
        harness.run_until(
            lambda: (
                len(harness.runs("flow")) == 3
                and all(harness.finished("flow", r.run_id)() for r in harness.runs("flow"))
            )
        )
        runs = sorted(harness.runs("flow"), key=lambda r: r.logical_date)
        assert [r.run_type for r in runs] == ["scheduled"] * 3
        reports = [harness.states("flow", r.run_id)["report"] for r in runs]
        assert reports == ["skipped", "skipped", "success"]
        for run in runs:
            states = harness.states("flow", run.run_id)
            assert (states["create"], states["train"], states["delete"]) == (
                "success",
                "failed",
                "success",
            )
            assert harness.run_state("flow", run.run_id) == "failed"
    finally:
        harness.close()
