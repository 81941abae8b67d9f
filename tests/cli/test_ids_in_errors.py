"""Ids people type: an empty ``--run-id`` is a usage error in every command that takes it,
and an over-long id is cut in error messages, never echoed whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.shown_text import cut_long_quoted, quoted
from headwater.store.sql import SqlStore
from stored_dags import invoke

LONG = "x" * 10_000
CUT = "'" + "x" * 100 + "…' (10000 characters)"


def test_quoted_keeps_short_values_and_cuts_long_ones() -> None:
    assert quoted("etl") == "'etl'"
    assert quoted(LONG) == CUT
    assert cut_long_quoted(f"DAG 'etl' has no run '{LONG}'") == f"DAG 'etl' has no run {CUT}"


def _one_dag(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "one.py").write_text(
        "from headwater import DAG\nfrom headwater.operators import EmptyOperator\n"
        "with DAG('one'):\n    EmptyOperator(task_id='t')\n"
    )
    return folder


@pytest.mark.parametrize("run_id", ["", "  "])
def test_an_empty_run_id_is_a_usage_error(store: SqlStore, tmp_path: Path, run_id: str) -> None:
    folder = _one_dag(tmp_path / "local")
    for args in (
        ["dags", "trigger", "etl", "--run-id", run_id],
        ["dags", "test", "one", "--folder", str(folder), "--run-id", run_id],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert "Invalid value for '--run-id': must not be empty" in result.stderr
    assert store.list_dag_runs("etl") == []


@pytest.mark.parametrize(
    "args",
    [
        ["dags", "trigger", "etl", "--run-id", LONG],
        ["dags", "state", "etl", LONG],
        ["dags", "state", LONG, "r1"],
        ["dags", "trigger", LONG],
        ["tasks", "state", "etl", LONG, "extract"],
        ["variables", "set", LONG, "v"],
        ["pools", "set", LONG, "3"],
    ],
)
def test_an_over_long_id_is_cut_in_the_error(store: SqlStore, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert CUT in result.stderr
    assert LONG not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_over_long_dag_and_task_ids_are_cut_when_testing(tmp_path: Path) -> None:
    folder = _one_dag(tmp_path / "local")
    for args in (["dags", "test", LONG], ["tasks", "test", "one", LONG]):
        result = invoke(*args, "--folder", str(folder))
        assert result.exit_code == 1
        assert CUT in result.stderr and LONG not in result.stderr


def test_an_empty_run_id_is_refused_by_the_operations_too(store: SqlStore) -> None:
    from headwater.clock import FakeClock
    from headwater.exceptions import HeadwaterError
    from headwater.operations import trigger_run

    with pytest.raises(HeadwaterError, match="run_id '' is not valid"):
        trigger_run(store, "etl", run_id="", now=FakeClock().now())
    assert store.list_dag_runs("etl") == []
