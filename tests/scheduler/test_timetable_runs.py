"""A custom timetable under the scheduler: the workday timetable of docs/data-aware.md, in a
module next to its DAG file, planned by a scheduler that never imports the DAG file (the DAG
processor stores the timetable's class path; the scheduler imports that module by name)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

WORKDAY_MODULE = Path(__file__).parents[1] / "timetables" / "workday_timetable.py"


@pytest.fixture
def clean_imports() -> Iterator[None]:
    """Forget the DAG folder's modules and its place on ``sys.path`` after the test."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def test_the_scheduler_runs_a_workday_timetable_from_the_dag_folder(
    harness: Harness, clean_imports: None
) -> None:
    shutil.copy(WORKDAY_MODULE, harness.folder / "workday_timetable.py")
    harness.write_dag(
        "workdays",
        """
        from workday_timetable import WorkdayTimetable

        with DAG("workdays", schedule=WorkdayTimetable(), start_date=START, catchup=True):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    row = harness.store.get_dag("workdays")
    assert row is not None and row.schedule == "workdays"

    # Thursday 2024-01-04 00:30: Monday to Wednesday have ended.
    harness.step()
    assert [r.logical_date for r in harness.runs("workdays")] == [at(1), at(2), at(3)]
    # Tuesday 2024-01-09 00:30: Thursday, Friday and Monday; no weekend runs.
    harness.clock.advance(at(9, 0, 30) - harness.clock.now())
    harness.step()
    runs = sorted(harness.runs("workdays"), key=lambda r: r.logical_date)
    assert [(r.data_interval_start, r.data_interval_end) for r in runs[3:]] == [
        (at(4), at(5)),
        (at(5), at(6)),  # Friday; Saturday and Sunday have no run
        (at(8), at(9)),
    ]
    assert {r.run_type for r in runs} == {"scheduled"}
    assert harness.store.get_dag("workdays").next_dagrun_logical_date == at(9)  # type: ignore[union-attr]
    for run in runs:
        harness.run_until(harness.finished("workdays", run.run_id))
        assert harness.run_state("workdays", run.run_id) == "success"

    # A run triggered by hand covers the last working day that has ended: Monday the 8th.
    manual = harness.trigger("workdays")
    assert (manual.data_interval_start, manual.data_interval_end) == (at(8), at(9))
