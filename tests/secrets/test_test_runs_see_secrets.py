"""``dags test``, ``tasks test``, ``run_dag`` and ``run_task`` see connections and variables:
what the run is given (``--conn``/``--var``, ``connections=``/``variables=``) before
everything, then the secrets backends, then the run's store, then the metadata database the
settings name (read-only; never created). Tasks and hooks find them at run time."""

from __future__ import annotations

import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater import DAG, task
from headwater.hooks import BaseHook
from headwater.operators import BashOperator
from headwater.secrets import Connection
from headwater.settings import Settings
from headwater.store.memory import MemoryStore
from headwater.store.sql import SqlStore
from headwater.testing import run_dag, run_task
from stored_dags import invoke

START = datetime(2024, 1, 1, tzinfo=UTC)

DAG_FILE = """\
from headwater import DAG, task
from headwater.hooks import BaseHook
from headwater.operators import BashOperator
from headwater.secrets import get_variable

with DAG("reads_secrets"):

    @task
    def describe() -> str:
        conn = BaseHook.get_connection("warehouse")
        line = f"host={conn.host} port={conn.port} region={get_variable('region')}"
        print(line)
        return line

    describe()
"""


def _reader_dag(dag_id: str = "reader") -> DAG:
    """A DAG whose task reads the connection ``warehouse`` (through the hook) and the
    variable ``region`` at run time."""
    with DAG(dag_id, start_date=START) as dag:

        @task
        def describe() -> str:
            from headwater.secrets import get_variable

            conn = BaseHook.get_connection("warehouse")
            return f"{conn.host}:{conn.port}/{get_variable('region')}"

        describe()
    return dag


def test_run_dag_arguments_win_over_every_other_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_CONN_WAREHOUSE", "postgres://env-host:1/d")
    monkeypatch.setenv("HEADWATER_VAR_REGION", "env-region")
    store = MemoryStore()
    store.set_connection(Connection("warehouse", "postgres", host="store-host", port=2))
    store.set_variable("region", "store-region")
    given = run_dag(
        _reader_dag(),
        store=store,
        connections={"warehouse": Connection("ignored_id", "postgres", host="given", port=3)},
        variables={"region": "given-region"},
    )
    assert given.xcom("describe") == "given:3/given-region"
    from_env = run_dag(_reader_dag(), store=store)
    assert from_env.xcom("describe") == "env-host:1/env-region"
    monkeypatch.delenv("HEADWATER_CONN_WAREHOUSE")
    monkeypatch.delenv("HEADWATER_VAR_REGION")
    assert run_dag(_reader_dag(), store=store).xcom("describe") == "store-host:2/store-region"


def test_run_task_takes_the_same_arguments() -> None:
    result = run_task(
        _reader_dag(),
        "describe",
        connections={"warehouse": '{"conn_type": "postgres", "host": "json-host", "port": 4}'},
        variables={"region": "r"},
    )
    assert result.xcom("describe") == "json-host:4/r"


def test_a_bad_given_connection_is_refused_before_the_run() -> None:
    with pytest.raises(Exception, match=r"run_dag/run_task arguments .*, connection 'warehouse'"):
        run_dag(_reader_dag(), connections={"warehouse": "no-scheme-pw-123"})


def test_the_settings_database_is_read_when_it_exists(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    with SqlStore.from_url(db_url) as database:
        database.set_connection(Connection("warehouse", "postgres", host="db-host", port=5))
        database.set_variable("region", "db-region")
    assert run_dag(_reader_dag()).xcom("describe") == "db-host:5/db-region"
    given = run_dag(_reader_dag(), variables={"region": "given"})
    assert given.xcom("describe") == "db-host:5/given"


def test_a_missing_settings_database_is_named_and_not_created(settings: Settings) -> None:
    database_file = settings.home / "headwater.db"
    result = run_dag(_reader_dag())
    assert result.state_of("describe") == "failed"
    error = result.ti("describe").error or ""
    assert "connection 'warehouse' is not defined (looked in: environment" in error
    assert (
        f"the settings' metadata database (sqlite:///{database_file}, skipped: no such file)"
        in error
    )
    assert not database_file.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unusable_settings_database_is_skipped_with_its_reason(
    scratch_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Empty (not migrated), unreachable, not a URL, or of a kind headwater does not use:
    the run goes on, and the error of a lookup that found nothing says which database was
    skipped and why (its password hidden)."""
    if scratch_db_url.startswith("sqlite:///"):
        path = Path(scratch_db_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()  # an empty database
    cases = {
        scratch_db_url: "skipped: not migrated",
        f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/x": "skipped: not reachable",
        "no database here": "(database.url, skipped: not a database URL)",
        "mysql://ann:pw-7@db/x": "(mysql://ann:***@db/x, skipped: cannot be opened: unsupported",
    }
    for url, reason in cases.items():
        monkeypatch.setenv("HEADWATER_DATABASE_URL", url)
        result = run_dag(_reader_dag())
        assert result.state_of("describe") == "failed", url
        assert reason in (result.ti("describe").error or ""), url


def test_given_variables_that_are_not_text_are_json() -> None:
    with DAG("json_vars", start_date=START) as dag:
        BashOperator(task_id="show", bash_command="echo {{ var.json.limits.rows }}")
    result = run_dag(dag, variables={"limits": {"rows": 10}})
    assert result.xcom("show") == "10"


def test_dags_test_conn_and_var_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_CONN_WAREHOUSE", "postgres://env-host:1/d")
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "reads.py").write_text(DAG_FILE)
    result = invoke(
        "dags", "test", "reads_secrets", "--folder", str(folder),
        "--conn", "warehouse=postgresql://ann:pw-9@cli-host:6543/sales",
        "--var", "region=eu=north",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "host=cli-host port=6543 region=eu=north" in result.stdout
    one_task = invoke(
        "tasks", "test", "reads_secrets", "describe", "--folder", str(folder),
        "--var", "region=us",
    )  # fmt: skip
    assert one_task.exit_code == 0, one_task.output
    assert "host=env-host port=1 region=us" in one_task.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--conn", "postgresql://ann:pw-9@h/d"],
            "Invalid value for '--conn': value number 1 is not NAME=VALUE",
        ),
        (
            ["--conn", "=sqlite:///x"],
            "Invalid value for '--conn': value number 1 is not NAME=VALUE",
        ),
        (["--var", "a=1", "--var", "a=2"], "Invalid value for '--var': 'a' is given twice"),
        (
            ["--conn", "db=nouri-pw-9"],
            "--conn/--var options, connection 'db': not a connection URI",
        ),
    ],
)
def test_bad_conn_and_var_options_are_one_line_without_the_value(
    tmp_path: Path, options: list[str], message: str
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "reads.py").write_text(DAG_FILE)
    result = invoke("dags", "test", "reads_secrets", "--folder", str(folder), *options)
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "pw-9" not in result.output
