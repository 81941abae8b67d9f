"""What headwater creates is readable by its owner only (folders 0700, files 0600), whatever
the umask, and a database others can read is pointed out."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from file_modes import mode, umask_022  # noqa: F401 - the fixture
from headwater.store.sql import SqlStore
from stored_dags import invoke

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG, task

with DAG("private", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
    @task
    def hello() -> int:
        print("secret output")
        return 1

    @task
    def each(x: int) -> int:
        return x

    hello() >> each.expand(x=[1, 2])
"""


pytestmark = pytest.mark.usefixtures("umask_022")


def assert_owner_only(root: Path) -> int:
    """Every folder under ``root`` (itself included) is 0700 and every file 0600; returns how
    many files there are."""
    assert mode(root) == 0o700, root
    files = 0
    for path in root.rglob("*"):
        if path.is_dir():
            assert mode(path) == 0o700, path
        else:
            assert mode(path) == 0o600, path
            files += 1
    return files


def test_db_migrate_creates_the_home_and_database_owner_only(headwater_home: Path) -> None:
    assert not headwater_home.exists()
    result = invoke("db", "migrate")
    assert result.exit_code == 0, result.output
    assert mode(headwater_home) == 0o700
    database = headwater_home / "headwater.db"
    assert mode(database) == 0o600
    # While a connection writes, SQLite keeps the WAL and its index next to the database.
    with SqlStore.from_url(f"sqlite:///{database}") as store:
        store.set_variable("token", "s3cret")
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        assert (mode(wal), mode(shm)) == (0o600, 0o600)
    assert "can be read by other users" not in result.output


def test_dags_test_logs_are_owner_only(headwater_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "private.py").write_text(textwrap.dedent(DAG_FILE))
    result = invoke("dags", "test", "private", "--folder", str(folder))
    assert result.exit_code == 0, result.output
    assert mode(headwater_home) == 0o700
    logs = headwater_home / "logs"
    # hello, each[0], each[1]: one attempt each, in dag_id=/run_id=/task_id=[/map_index=].
    assert assert_owner_only(logs) == 3
    assert list(logs.rglob("map_index=1/attempt=1.log"))


def test_a_database_others_can_read_is_pointed_out_once_per_command(
    headwater_home: Path,
) -> None:
    assert invoke("db", "migrate").exit_code == 0
    database = headwater_home / "headwater.db"
    database.chmod(0o644)
    env = {**os.environ, "HEADWATER_HOME": str(headwater_home)}
    for args in (["variables", "list"], ["pools", "list"], ["db", "check"]):
        done = subprocess.run(
            [sys.executable, "-m", "headwater", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == [
            f"the database {database} can be read by other users of this machine (mode "
            "0644), and it holds every connection, variable and XCom: run "
            f"`chmod 600 {database}*`"
        ]
    database.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "variables", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_the_scheduler_warns_once_however_often_it_opens_the_database(
    headwater_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from headwater.db.opening import open_store
    from headwater.settings import load_settings

    assert invoke("db", "migrate").exit_code == 0
    (headwater_home / "headwater.db").chmod(0o640)
    settings = load_settings()
    with caplog.at_level(logging.WARNING, logger="headwater.db"):
        for migrate in (True, False):  # standalone: migrated, then opened by the scheduler
            open_store(settings, migrate=migrate).close()
    warnings = [r.getMessage() for r in caplog.records if "can be read by other" in r.getMessage()]
    assert len(warnings) == 1
    assert "(mode 0640)" in warnings[0]
