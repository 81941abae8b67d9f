"""Mapped task groups under the scheduler (memory store, in-process executor): the
scheduler drives the DAG rebuilt from its serialized form, workers import the file; each
index of the group runs on its own, and the task after the group reads every index."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduler_harness import Harness

from headwater.clock import FakeClock


def test_a_mapped_group_over_an_upstream_output_in_a_scheduled_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=UTC))
    harness = Harness.in_memory(tmp_path, monkeypatch, clock)
    try:
        harness.write_dag(
            "groups",
            """
            from headwater import task_group

            with DAG("groups", start_date=START, schedule=None):
                @task
                def numbers():
                    return [1, 2, 3]

                @task
                def double(x):
                    if x == 2:
                        raise ValueError("two is refused")
                    return 2 * x

                @task
                def plus(value, x):
                    return value + x

                @task_group
                def g(x):
                    return plus(double(x), x)

                @task(trigger_rule="all_done")
                def collect(values):
                    return values

                collect(g.expand(x=numbers()))
            """,
        )
        harness.process()
        run = harness.trigger("groups")
        harness.run_until(harness.finished("groups", run.run_id))
        states = harness.states("groups", run.run_id)
        assert {k: v for k, v in states.items() if k.startswith("g.plus")} == {
            "g.plus[0]": "success",
            "g.plus[1]": "upstream_failed",
            "g.plus[2]": "success",
        }
        assert states["g.double[1]"] == "failed"
        assert states["collect"] == "success"
        assert harness.xcom("groups", run.run_id, "collect") == [3, 9]
    finally:
        harness.close()
