"""``headwater db clean``: old runs go with their rows, log files and XCom files; what must
stay stays; a dry run changes nothing; batches; the confirmation and bad input. On SQLite and
PostgreSQL, through the real command (the seed: ``tests/retention_seeds.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from retention_files import every_run, write_log, write_xcom_file

from db_records import T0, make_run
from headwater.actors import acting_as
from headwater.engine.states import DagRunState
from headwater.operations.retention import clean_old_data, parse_age
from headwater.runtime.remote_logs import remote_log_folder
from headwater.settings import Settings, load_settings
from headwater.store.sql import SqlStore
from retention_seeds import KEPT_RUNS, REMOVED_ROWS, REMOVED_RUNS, seed
from stored_dags import invoke


def test_clean_removes_old_runs_with_their_files_and_keeps_the_rest(
    store: SqlStore, retention_settings: Settings
) -> None:
    seed(store, now=datetime.now(UTC))  # the command runs on the real clock
    logs = {key: write_log(retention_settings, *key) for key in REMOVED_RUNS | KEPT_RUNS}
    xcom_files = {
        key: write_xcom_file(retention_settings, *key)
        for key in (
            ("etl", "old_ok"),
            ("etl", "recent"),
        )
    }

    result = invoke("db", "clean", "--older-than", "90d", "--yes", "--output", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows"] == dict(sorted(REMOVED_ROWS.items()))
    assert (data["runs"], data["log_files"], data["dry_run"]) == (3, 3, False)
    assert data["log_bytes"] == 3 * len("hello\n")
    assert every_run(store) == KEPT_RUNS
    for key, path in logs.items():
        assert path.exists() == (key in KEPT_RUNS), key
        assert path.parent.parent.exists() == (key in KEPT_RUNS)  # the run's folder
    assert not xcom_files[("etl", "old_ok")].exists()
    assert xcom_files[("etl", "recent")].exists()
    # Each DAG folder that still holds logs stays; none is left empty.
    logs_root = Path(retention_settings.logs_folder)
    assert sorted(p.name for p in logs_root.iterdir()) == [
        "dag_id=etl",
        "dag_id=sched",
        "dag_id=solo",
    ]
    (event,) = store.list_events(kind="db_clean")
    assert event.actor is not None and event.actor.startswith("cli:")
    assert event.run_id is None
    assert json.loads(event.detail or "{}")["rows"]["dag_runs"] == 3

    again = json.loads(invoke("db", "clean", "--older-than", "90d", "-y", "-o", "json").stdout)
    assert again["runs"] == 0 and every_run(store) == KEPT_RUNS


def test_the_remote_copies_of_removed_runs_logs_go_too(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote-logs"
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", str(remote))
    settings = load_settings()
    seed(store, now=datetime.now(UTC))
    folder = remote_log_folder(settings)
    assert folder is not None
    copies = {}
    for key in REMOVED_RUNS | KEPT_RUNS:  # a complete copy, and a running log's live part
        local = write_log(settings, *key)
        folder.copy(local)
        folder.write_part(folder.relative(local), 0, b"hel")
        copies[key] = Path(folder.remote_path(folder.relative(local)))

    dry = json.loads(invoke("db", "clean", "--older-than", "90d", "--dry-run", "-o", "json").stdout)
    assert dry["remote_log_folders"] is None  # a dry run does not list the remote store
    assert all(copy.exists() for copy in copies.values())

    result = json.loads(invoke("db", "clean", "--older-than", "90d", "-y", "-o", "json").stdout)

    assert result["remote_log_folders"] == len(REMOVED_RUNS)
    for key, copy in copies.items():
        assert copy.exists() == (key in KEPT_RUNS), key
        assert copy.parent.parent.exists() == (key in KEPT_RUNS), key  # the run's folder
    table = invoke("db", "clean", "--older-than", "90d", "-y")
    assert "remote log folders of runs" in table.stdout


def test_a_dry_run_counts_and_changes_nothing(
    store: SqlStore, retention_settings: Settings
) -> None:
    seed(store, now=datetime.now(UTC))
    old_log = write_log(retention_settings, "etl", "old_ok", "x" * 100)
    before = every_run(store)

    result = invoke("db", "clean", "--older-than", "90d", "--dry-run", "-o", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dry_run"] is True
    # The same rows but backfills (a backfill goes with its last run: known once it goes).
    assert data["rows"] == {t: n for t, n in sorted(REMOVED_ROWS.items()) if t != "backfills"}
    assert (data["log_files"], data["log_bytes"]) == (1, 100)
    assert every_run(store) == before
    assert old_log.exists()
    assert store.list_events(kind="db_clean") == []

    table = invoke("db", "clean", "--older-than", "90d", "--dry-run")
    assert "Would remove: what ended before" in table.stdout
    assert "task_instances" in table.stdout and "1 (100 bytes)" in table.stdout


def test_asks_first_and_a_no_keeps_everything(store: SqlStore) -> None:
    seed(store, now=datetime.now(UTC))
    before = every_run(store)
    refused = invoke("db", "clean", "--older-than", "90d", input="n\n")
    assert refused.exit_code == 1
    assert "Remove 3 run(s) that ended before" in refused.stderr
    assert every_run(store) == before
    accepted = invoke("db", "clean", "--older-than", "90d", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Removed: what ended before" in accepted.stdout
    assert every_run(store) == KEPT_RUNS


def test_only_one_dag(store: SqlStore) -> None:
    seed(store, now=datetime.now(UTC))
    result = invoke("db", "clean", "--older-than", "90d", "--dag-id", "sched", "-y", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"] == 1
    assert every_run(store) == (KEPT_RUNS | REMOVED_RUNS) - {("sched", "s0")}


@pytest.mark.parametrize("age", ["90", "90x", "0d", "1.5d"])
def test_an_age_that_is_not_one_is_refused_naming_the_option(store: SqlStore, age: str) -> None:
    result = invoke("db", "clean", "--older-than", age, "--yes")
    assert result.exit_code == 1
    assert f"--older-than {age!r} is not an age" in result.stderr
    assert "90d" in result.stderr


def test_ages() -> None:
    assert [parse_age(a).total_seconds() for a in ("30m", "12h", "90d", "2w")] == [
        1800,
        12 * 3600,
        90 * 86400,
        14 * 86400,
    ]


def test_batches_of_two_runs_over_five(store: SqlStore, retention_settings: Settings) -> None:
    for day in range(6):  # five old runs, and the newest, which stays
        store.create_dag_run(
            make_run("etl", f"r{day}", day, state=DagRunState.SUCCESS, end_date=T0),
            [],
        )
    with acting_as("cli:test"):
        report = clean_old_data(
            store,
            retention_settings,
            older_than=parse_age("90d"),
            now=store.clock.now(),
            batch_size=2,
        )
    assert (report.runs, report.batches) == (5, 3)
    assert every_run(store) == {("etl", "r5")}
    (event,) = store.list_events(kind="db_clean")
    assert event.actor == "cli:test"


def test_the_batch_size_setting(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER__RETENTION__BATCH_SIZE", "2")
    seed(store, now=datetime.now(UTC))
    data = json.loads(invoke("db", "clean", "--older-than", "90d", "-y", "-o", "json").stdout)
    assert (data["runs"], data["batches"]) == (3, 2)


def test_expired_task_state_goes_whatever_its_runs_age(
    store: SqlStore, retention_settings: Settings
) -> None:
    from datetime import timedelta

    from headwater.store.state_stores import TaskStateScope

    store.create_dag_run(make_run("etl", "new", 0, state=DagRunState.RUNNING), [])
    scope = TaskStateScope("etl", "new", "extract")
    now = store.clock.now()
    store.set_task_state(scope, "old", 1, expires_at=now - timedelta(seconds=1), now=now)
    store.set_task_state(scope, "later", 2, expires_at=now + timedelta(hours=1), now=now)
    store.set_task_state(scope, "forever", 3, expires_at=None, now=now)
    dry = clean_old_data(
        store, retention_settings, older_than=parse_age("90d"), now=now, dry_run=True
    )
    assert dry.rows["task_state_store"] == 0
    with acting_as("cli:test"):
        report = clean_old_data(store, retention_settings, older_than=parse_age("90d"), now=now)
    assert report.runs == 0
    assert report.rows["task_state_store"] == 1
    later = now + timedelta(hours=2)
    assert store.list_task_state(scope, now=now) == {"forever": 3, "later": 2}
    assert store.list_task_state(scope, now=later) == {"forever": 3}
    (event,) = store.list_events(kind="db_clean")
    assert json.loads(event.detail or "{}")["rows"]["task_state_store"] == 1
