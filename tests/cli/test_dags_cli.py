"""``headwater dags trigger | pause | unpause | list-runs | state | delete | backfill | list``
against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.settings import Settings
from headwater.store import backfills
from headwater.store.sql import SqlStore
from stored_dags import invoke, run_now, scan_here

RUN_FIELDS = {
    "dag_id",
    "run_id",
    "state",
    "run_type",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "start_date",
    "end_date",
    "conf",
    "backfill_id",
    "note",
    "partition_key",
}


def test_trigger_prints_the_run_as_json(store: SqlStore) -> None:
    result = invoke(
        "dags", "trigger", "etl", "--conf", '{"region": "us"}', "--run-id", "r1",
        "--logical-date", "2024-01-31", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert set(run) == RUN_FIELDS
    assert run == {
        "dag_id": "etl",
        "run_id": "r1",
        "state": "queued",
        "run_type": "manual",
        "logical_date": "2024-01-31T00:00:00+00:00",
        "data_interval_start": "2024-01-31T00:00:00+00:00",
        "data_interval_end": "2024-02-01T00:00:00+00:00",
        "start_date": None,
        "end_date": None,
        "conf": {"region": "us"},
        "backfill_id": None,
        "note": None,
        "partition_key": None,
    }
    stored = store.get_dag_run("etl", "r1")
    assert stored is not None and stored.state == "queued"


def test_trigger_for_people_and_a_paused_dag(store: SqlStore) -> None:
    store.set_dag_paused("etl", True)
    result = invoke("dags", "trigger", "etl", "--run-id", "r1")
    assert result.exit_code == 0
    assert result.stdout == "Triggered run r1 of DAG etl: queued\n"
    assert "DAG etl is paused" in result.stderr and "headwater dags unpause etl" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope"], 1, "Error: no DAG 'nope' in the database (active DAGs: etl, flaky, partly)"),
        (["etl", "--conf", '{"region": "mars"}'], 1, "Error: param 'region': 'mars' is not one of"),
        (["etl", "--conf", "[1]"], 2, "Invalid value for --conf"),
        (["etl", "--logical-date", "yesterday"], 2, "Invalid value for --logical-date"),
        (["etl", "--run-id", "../x"], 1, "Error: run_id '../x' is not valid"),
    ],
)
def test_trigger_refuses_bad_input_in_one_line(
    store: SqlStore, args: list[str], code: int, message: str
) -> None:
    result = invoke("dags", "trigger", *args)
    assert result.exit_code == code
    assert message in result.stderr
    if code == 1:
        assert len(result.stderr.splitlines()) == 1
    assert store.list_dag_runs("etl") == []


def test_trigger_refuses_a_taken_run_id(store: SqlStore) -> None:
    assert invoke("dags", "trigger", "etl", "--run-id", "r1").exit_code == 0
    result = invoke("dags", "trigger", "etl", "--run-id", "r1")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: run_id 'r1' is taken: DAG 'etl' already has a run with that id; "
        "choose another run id\n"
    )


def test_pause_and_unpause_persist(store: SqlStore) -> None:
    result = invoke("dags", "pause", "etl")
    assert (result.exit_code, result.stdout) == (0, "DAG etl is paused\n")
    assert store.get_dag("etl").is_paused  # type: ignore[union-attr]
    result = invoke("dags", "unpause", "etl", "-o", "json")
    assert json.loads(result.stdout) == {"dag_id": "etl", "paused": False}
    assert not store.get_dag("etl").is_paused  # type: ignore[union-attr]
    result = invoke("dags", "pause", "nope")
    assert result.exit_code == 1 and "no DAG 'nope'" in result.stderr


def test_list_runs_newest_first_with_state_and_limit(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    run_now(store, folder, "flaky", "failed1", settings, logical_date=day)
    run_now(store, folder, "flaky", "failed2", settings, logical_date=day + timedelta(days=1))
    invoke("dags", "trigger", "flaky", "--run-id", "queued3", "--logical-date", "2024-01-03")
    runs = json.loads(invoke("dags", "list-runs", "flaky", "-o", "json").stdout)
    assert [r["run_id"] for r in runs] == ["queued3", "failed2", "failed1"]
    assert all(set(r) == RUN_FIELDS for r in runs)
    assert runs[1]["state"] == "failed" and runs[1]["end_date"] is not None
    runs = json.loads(
        invoke("dags", "list-runs", "flaky", "--state", "failed", "-o", "json").stdout
    )
    assert [r["run_id"] for r in runs] == ["failed2", "failed1"]
    runs = json.loads(invoke("dags", "list-runs", "flaky", "--limit", "1", "-o", "json").stdout)
    assert [r["run_id"] for r in runs] == ["queued3"]
    table = invoke("dags", "list-runs", "flaky").stdout
    assert table.index("queued3") < table.index("failed2") < table.index("failed1")
    assert "2024-01-02T00:00:00+00:00" in table


def test_list_runs_of_a_dag_without_runs_and_of_an_unknown_dag(store: SqlStore) -> None:
    assert invoke("dags", "list-runs", "etl", "-o", "json").stdout == "[]\n"
    assert invoke("dags", "list-runs", "etl").stdout == "No runs of DAG etl.\n"
    result = invoke("dags", "list-runs", "nope")
    assert result.exit_code == 1 and "no DAG 'nope' in the database" in result.stderr
    assert invoke("dags", "list-runs", "etl", "--state", "bogus").exit_code == 2


def test_state_shows_the_run_and_its_task_instances(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    data = json.loads(invoke("dags", "state", "flaky", "r1", "-o", "json").stdout)
    assert data["state"] == "failed" and set(data) >= RUN_FIELDS
    assert {ti["task_id"]: ti["state"] for ti in data["task_instances"]} == {
        "after": "upstream_failed",
        "boom": "failed",
        "start": "success",
    }
    result = invoke("dags", "state", "flaky", "r1")
    assert "failed" in result.stdout and "upstream_failed" in result.stdout
    result = invoke("dags", "state", "flaky", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: DAG 'flaky' has no run 'nope'\n"


def test_delete_asks_then_deletes_everything(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    result = invoke("dags", "delete", "etl", input="n\n")
    assert result.exit_code == 1
    assert "Delete DAG etl and its 1 run(s) from the database?" in result.stderr
    assert store.get_dag("etl") is not None
    result = invoke("dags", "delete", "etl", "--yes", "-o", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["dag_id"] == "etl"
    assert data["deleted"]["dags"] == 1 and data["deleted"]["dag_runs"] == 1
    assert data["deleted"]["task_instances"] == 6 and data["deleted"]["dag_files"] == 1
    assert store.get_dag("etl") is None and store.list_dag_runs("etl") == []
    assert store.get_task_instances("etl", "r1") == []
    result = invoke("dags", "delete", "etl", "--yes")
    assert result.exit_code == 1 and "no DAG 'etl' in the database" in result.stderr


def test_backfill_dry_run_prints_the_plan_and_changes_nothing(store: SqlStore) -> None:
    invoke("dags", "trigger", "etl", "--run-id", "mine", "--logical-date", "2024-01-02")
    result = invoke(
        "dags", "backfill", "etl", "--start", "2024-01-01", "--end", "2024-01-03", "--dry-run",
        "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["dry_run"], data["reprocess"], data["start"]) == (
        True,
        "failed",
        "2024-01-01T00:00:00+00:00",
    )
    assert [(i["logical_date"], i["action"], i["run_id"], i["state"]) for i in data["items"]] == [
        ("2024-01-01T00:00:00+00:00", "create", "backfill__2024-01-01T00:00:00+00:00", None),
        ("2024-01-02T00:00:00+00:00", "skip", "mine", "queued"),
        ("2024-01-03T00:00:00+00:00", "create", "backfill__2024-01-03T00:00:00+00:00", None),
    ]
    assert data["items"][0]["data_interval_end"] == "2024-01-02T00:00:00+00:00"
    result = invoke(
        "dags", "backfill", "etl", "--start", "2024-01-01", "--end", "2024-01-03", "--dry-run"
    )
    assert "dry run: nothing changed" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "2024-01-0" in line]
    assert ["create" in lines[0], "skip" in lines[1], "create" in lines[2]] == [True] * 3
    assert [r.run_id for r in store.list_dag_runs("etl")] == ["mine"]


def test_backfill_creates_runs_once(store: SqlStore) -> None:
    args = ["dags", "backfill", "etl", "--start", "2024-01-01", "--end", "2024-01-03"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "3 run(s) created, 0 rerun, 0 skipped; at most 3 running at once" in result.stdout
    runs = store.list_dag_runs("etl")
    assert [(r.run_type, r.state) for r in runs] == [("backfill", "queued")] * 3
    [row] = backfills.list_backfills(store, "etl")
    assert row.max_active_runs == 3  # the DAG's max_active_runs
    listed = json.loads(invoke("dags", "list-runs", "etl", "-o", "json").stdout)
    assert [run["backfill_id"] for run in listed] == [row.id] * 3
    result = invoke(*args, "--max-active-runs", "1", "-o", "json")
    data = json.loads(result.stdout)
    assert data["backfill_id"] is None and data["created"] == [] and len(data["skipped"]) == 3
    assert invoke(*args).stdout == "Nothing to backfill: all 3 logical date(s) skipped.\n"
    assert len(store.list_dag_runs("etl")) == 3 and len(backfills.list_backfills(store)) == 1


def test_backfill_reprocess_and_max_active_runs(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "old", settings)  # failed, Jan 1
    result = invoke(
        "dags", "backfill", "flaky", "--start", "2024-01-01", "--end", "2024-01-02",
        "--reprocess", "failed", "--max-active-runs", "1", "-o", "json",
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["rerun"] == ["old"]
    assert data["created"] == ["backfill__2024-01-02T00:00:00+00:00"]
    assert backfills.backfill_limits(store) == {data["backfill_id"]: 1}
    assert store.get_dag_run("flaky", "old").state == "queued"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--start", "2024-02-01", "--end", "2024-01-01"], 1, "is after end"),
        (["--start", "soon", "--end", "2024-01-01"], 2, "Invalid value for --start"),
        (["--start", "2024-01-01"], 2, "Missing option '--end'"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--reprocess", "x"], 2, "--reprocess"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--max-active-runs", "0"], 2, "0"),
    ],
)
def test_backfill_refuses_bad_input(store: SqlStore, args, code: int, message: str) -> None:
    result = invoke("dags", "backfill", "etl", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert store.list_dag_runs("etl") == []


def test_backfill_of_an_unscheduled_dag(store: SqlStore) -> None:
    result = invoke("dags", "backfill", "partly", "--start", "2024-01-01", "--end", "2024-01-02")
    assert result.exit_code == 1
    assert "has schedule None: it has no intervals to backfill" in result.stderr


def test_dags_list_adds_paused_and_next_run_from_the_database(
    store: SqlStore, folder: Path
) -> None:
    store.set_dag_paused("flaky", True)
    store.set_next_dagrun(
        "etl",
        datetime(2024, 6, 1, tzinfo=UTC),
        datetime(2024, 6, 1, tzinfo=UTC),
        datetime(2024, 6, 2, tzinfo=UTC),
        datetime(2024, 6, 2, tzinfo=UTC),
    )
    data = json.loads(invoke("dags", "list", "--folder", str(folder), "-o", "json").stdout)
    rows = {d["dag_id"]: d for d in data["dags"]}
    assert rows["etl"]["paused"] is False
    assert rows["etl"]["next_run"] == "2024-06-01T00:00:00+00:00"
    assert rows["flaky"]["paused"] is True and rows["flaky"]["next_run"] is None
    table = invoke("dags", "list", "--folder", str(folder)).stdout
    assert "paused" in table and "next run" in table
    assert "2024-06-01T00:00:00+00:00" in table


def test_dags_list_without_a_database_is_as_before(tmp_path: Path, headwater_home: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "one.py").write_text(
        "from headwater import DAG\nfrom headwater.operators import EmptyOperator\n"
        "with DAG('one') as dag:\n    EmptyOperator(task_id='t')\n"
    )
    result = invoke("dags", "list", "--folder", str(folder))
    assert result.exit_code == 0 and "paused" not in result.stdout
    data = json.loads(invoke("dags", "list", "--folder", str(folder), "-o", "json").stdout)
    assert data["dags"][0]["paused"] is None and data["dags"][0]["next_run"] is None
    assert not (headwater_home / "headwater.db").exists()


def test_list_import_errors_shows_what_the_processor_stored(store: SqlStore, folder: Path) -> None:

    result = invoke("dags", "list-import-errors")
    assert result.exit_code == 0, result.output
    assert "No import errors." in result.output
    (folder / "broken.py").write_text("# headwater dag\nimport nowhere_to_be_found\n")
    scan_here(store, folder)
    result = invoke("dags", "list-import-errors", "-o", "json")
    assert result.exit_code == 0, result.output
    (error,) = json.loads(result.stdout)
    assert error["filename"] == str((folder / "broken.py").resolve())
    assert error["line"] == 2
    assert "nowhere_to_be_found" in error["message"]


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_backfill_over_too_wide_a_range_is_one_error_and_stores_nothing(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, dry_run: list[str]
) -> None:
    from headwater.operations import backfill

    monkeypatch.setattr(backfill, "MAX_BACKFILL_RUNS", 100)  # etl is daily since 2024
    result = invoke("dags", "backfill", "etl", "--start", "0001-01-01", "--end", "9999-12-31",
                    *dry_run)  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: backfill of DAG 'etl' from 0001-01-01T00:00:00+00:00 to "
        "9999-12-31T00:00:00+00:00 would need at least 101 runs (schedule @daily); one "
        "backfill creates at most 100: narrow the range (--start/--end)"
    ]
    assert store.list_dag_runs("etl") == [] and backfills.list_backfills(store) == []


def test_trigger_at_a_logical_date_whose_interval_leaves_the_calendar_is_refused(
    store: SqlStore,
) -> None:
    result = invoke("dags", "trigger", "etl", "--logical-date", "9999-12-31T23:00:00+00:00")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: logical date 9999-12-31T23:00:00+00:00 is out of range: it or its data "
        "interval under DAG 'etl''s schedule @daily falls outside the dates headwater can "
        "represent (years 1 to 9999, in UTC)"
    ]
    assert store.list_dag_runs("etl") == []
