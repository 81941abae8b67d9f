"""A full pass follows the stored DAGs cheaply: it lists each DAG's version (hash, file,
pause flag) and reads a serialized DAG only when its hash changed, so an idle pass, every
``loop_interval_s``, reads none, and an edited file reloads exactly its own DAG."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from scheduler_harness import Harness
from sqlalchemy import event

SELECTS_SERIALIZED = re.compile(r"^\s*SELECT\b.*\bdags\.serialized\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def serialized_reads(harness: Harness) -> Iterator[list[Any]]:
    """The parameters of every statement that selects a serialized DAG (the DAG processor
    reads some too: a test clears the list before the passes it measures)."""
    reads: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if SELECTS_SERIALIZED.match(statement):
            reads.append(parameters)

    engine = harness.store.engine
    event.listen(engine, "before_cursor_execute", record)
    yield reads
    event.remove(engine, "before_cursor_execute", record)


def _dag_id(parameters: Any) -> str:
    """The one value a read of one DAG binds (a tuple on SQLite, a dict on PostgreSQL)."""
    values = list(parameters.values() if isinstance(parameters, dict) else parameters)
    assert len(values) == 1, values
    return str(values[0])


def test_an_idle_pass_reads_no_serialized_dag(
    harness: Harness, serialized_reads: list[Any]
) -> None:
    for name in ("steady", "also_steady"):
        harness.write_dag(name, f'DAG("{name}", start_date=START)\n')
    harness.process()
    serialized_reads.clear()
    harness.scheduler.tick()  # the scheduler starts: both DAGs are loaded, once
    assert sorted(_dag_id(p) for p in serialized_reads) == ["also_steady", "steady"]
    serialized_reads.clear()

    harness.scheduler.tick()
    harness.scheduler.tick()

    assert serialized_reads == []


def test_a_changed_hash_reloads_exactly_that_dag(
    harness: Harness, serialized_reads: list[Any]
) -> None:
    harness.write_dag("steady", 'DAG("steady", start_date=START)\n')
    edited = harness.write_dag(
        "edited",
        """
        with DAG("edited", start_date=START):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    run = harness.trigger("edited")
    harness.scheduler.tick()  # loads both DAGs; "a" is queued

    before = edited.stat().st_mtime
    harness.write_dag(
        "edited",
        """
        with DAG("edited", start_date=START):
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        """,
    )
    os.utime(edited, (before + 10, before + 10))  # a new mtime, however coarse the file system
    harness.process()
    serialized_reads.clear()
    harness.scheduler.tick()

    assert [_dag_id(p) for p in serialized_reads] == ["edited"]
    # The run under way follows the new structure: the reload reached the scheduler.
    assert harness.states("edited", run.run_id) == {"a": "queued", "b": "none"}
