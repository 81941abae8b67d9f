"""``[logging] remote_log_folder``: every attempt's log is copied to a second sink, a folder
or an fsspec URL, and read back from it (services, ``tasks logs``) once the local file is
gone. Attempts run in a real scheduler (in-process executor) over SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.clock import FakeClock
from headwater.exceptions import HeadwaterError
from headwater.operations import trigger_run
from headwater.runtime.remote_logs import check_remote_log_folder
from headwater.scheduler.service import build_scheduler
from headwater.services.context import open_context
from headwater.services.logs import find_attempt_log, read_log
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from stored_dags import invoke, scan_here

DAG_FILE = """\
import logging
from datetime import UTC, datetime

from headwater import DAG
from headwater.operators import PythonOperator


def extract():
    print("extracted 12 rows")
    logging.getLogger("etl").warning("2 rows had no date")


def done(context):
    logging.getLogger("etl").info("the run is over")


with DAG("etl", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None, **CALLBACKS):
    PythonOperator(task_id="extract", python_callable=extract)
"""

RELATIVE = Path("dag_id=etl", "run_id=r1", "task_id=extract", "attempt=1.log")


def _run_etl(db_url: str, tmp_path: Path, clock: FakeClock, *, callback: bool = False) -> None:
    """Store the DAG, trigger run ``r1`` and let a real scheduler run it to the end (and
    its DAG callback, in a process of its own, with ``callback``)."""
    folder = tmp_path / "dags"
    folder.mkdir()
    callbacks = "{'on_success_callback': done}" if callback else "{}"
    (folder / "etl.py").write_text(DAG_FILE.replace("**CALLBACKS", f"**{callbacks}"))
    with SqlStore.from_url(db_url, clock=clock) as store:
        assert not scan_here(store, folder).errors
        trigger_run(store, "etl", run_id="r1", now=clock.now())
        scheduler = build_scheduler(load_settings(), store=store, clock=clock)
        scheduler.start()
        try:
            for _ in range(20):
                run = store.get_dag_run("etl", "r1")
                assert run is not None
                if run.state.value in ("success", "failed"):
                    break
                scheduler.tick()
                finished = scheduler.executor.poll(timeout=5)
                if finished:
                    scheduler.apply_outcomes(finished)
                    scheduler.schedule_runs(clock.now())
            assert run.state.value == "success"
        finally:
            scheduler.stop()  # waits for the DAG callback's process


@pytest.fixture
def database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    return db_url


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A folder of fsspec's in-memory filesystem, removed after the test."""
    import fsspec

    url = f"memory://headwater-logs-{uuid.uuid4().hex}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


def test_a_folder_gets_a_copy_of_each_log_and_serves_it_once_the_local_file_is_gone(
    database: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote-logs"
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", str(remote))
    _run_etl(database, tmp_path, clock, callback=database.startswith("sqlite"))

    settings = load_settings()
    local = settings.logs_folder / RELATIVE
    copy = (remote / RELATIVE).read_text()
    assert copy == local.read_text()
    assert "extracted 12 rows" in copy
    assert "{WARNING} 2 rows had no date" in copy
    assert (remote / RELATIVE).stat().st_mode & 0o077 == 0  # owner-only, like the local file
    if database.startswith("sqlite"):  # a process of its own: once is enough
        callbacks_log = Path("dag_id=etl", "run_id=r1", "dag_callbacks.log")
        assert "the run is over" in (remote / callbacks_log).read_text()

    shutil.rmtree(settings.logs_folder / "dag_id=etl")  # as if it ran on another machine
    with open_context(settings) as ctx:
        chunk = read_log(ctx, "etl", "r1", "extract")
    assert chunk.content == copy
    assert chunk.complete

    local.unlink()
    shown = invoke("tasks", "logs", "etl", "r1", "extract")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == copy


def test_an_fsspec_url_gets_a_copy_and_serves_it(
    database: str,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    memory_url: str,
) -> None:
    import fsspec

    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", memory_url)
    _run_etl(database, tmp_path, clock)

    fs = fsspec.filesystem("memory")
    remote_file = f"{memory_url}/{RELATIVE.as_posix()}"
    copy = fs.cat_file(remote_file).decode()
    assert "extracted 12 rows" in copy

    settings = load_settings()
    (settings.logs_folder / RELATIVE).unlink()
    with open_context(settings) as ctx:
        found = find_attempt_log(ctx, "etl", "r1", "extract")
        assert found.path.read_text() == copy  # fetched back to its local place
        assert read_log(ctx, "etl", "r1", "extract").content == copy


def test_a_copy_that_fails_is_a_warning_and_the_task_still_succeeds(
    database: str,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", str(blocker / "logs"))
    with caplog.at_level(logging.WARNING, logger="headwater.runtime.remote_logs"):
        _run_etl(database, tmp_path, clock)  # asserts the run succeeded
    (warning,) = [r for r in caplog.records if r.name == "headwater.runtime.remote_logs"]
    assert warning.getMessage().startswith("Could not copy the log ")
    assert str(RELATIVE) in warning.getMessage()


def test_a_missing_log_says_so_when_the_remote_folder_has_none_either(
    database: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", str(tmp_path / "remote"))
    _run_etl(database, tmp_path, clock)
    shutil.rmtree(tmp_path / "remote")
    (load_settings().logs_folder / RELATIVE).unlink()

    shown = invoke("tasks", "logs", "etl", "r1", "extract")
    assert shown.exit_code == 1
    assert "no log for try 1 of task instance 'extract' of run 'r1'; tries: 1" in shown.stderr


def test_a_url_whose_filesystem_cannot_load_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", "nosuchscheme://bucket/logs")
    with pytest.raises(HeadwaterError, match=r"logging\.remote_log_folder 'nosuchscheme://"):
        check_remote_log_folder(load_settings())
