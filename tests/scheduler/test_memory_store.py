"""The scheduler on the memory store: every port it uses has a memory implementation, so a
whole run (DAG processing, trigger, scheduling, attempts, XComs) needs no database."""

from __future__ import annotations

from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock


def test_a_run_goes_through_the_scheduler_on_the_memory_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(at(4, 0, 30))
    harness = Harness.in_memory(tmp_path, monkeypatch, clock)
    try:
        harness.write_dag(
            "flow",
            """
            with DAG("flow", start_date=START, schedule=None):
                @task
                def produce():
                    return 21

                @task
                def double(x):
                    return x * 2

                double(produce())
            """,
        )
        harness.process()
        run = harness.trigger("flow")
        harness.run_until(harness.finished("flow", run.run_id))
        assert harness.run_state("flow", run.run_id) == "success"
        assert harness.states("flow", run.run_id) == {"produce": "success", "double": "success"}
        assert harness.xcom("flow", run.run_id, "double") == 42
        assert [e.kind for e in harness.store.list_events(dag_id="flow")] == ["trigger"]
    finally:
        harness.close()
