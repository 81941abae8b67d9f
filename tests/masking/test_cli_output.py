"""Every table and every ``-o json`` answer of the CLI goes through one redaction: values
under sensitive keys, values of records named like secrets (variables, settings) and the
secrets this process registered show as ``***`` (headwater.cli._common)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.cli._common import redacted_row
from headwater.masking import mask_secret
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import invoke, run_now, store_dags

VALUE = "hunter2-is-secret"


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    with SqlStore.from_url(db_url) as opened:
        store_dags(opened, tmp_path / "dags")
        yield opened


def test_variables_named_like_secrets_are_hidden_in_tables_and_json(store: SqlStore) -> None:
    assert invoke("variables", "set", "db_password", VALUE).exit_code == 0
    assert invoke("variables", "set", "region", "eu-west-1").exit_code == 0

    listed = invoke("variables", "list")
    assert listed.exit_code == 0, listed.output
    assert VALUE not in listed.stdout
    assert "eu-west-1" in listed.stdout
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if "│" in line[:2]}
    assert "***" in rows["db_password"]

    as_json = json.loads(invoke("variables", "list", "-o", "json").stdout)
    assert {v["key"]: v["value"] for v in as_json} == {"db_password": "***", "region": "eu-west-1"}
    got = json.loads(invoke("variables", "get", "db_password", "-o", "json").stdout)
    assert got == {"key": "db_password", "value": "***"}
    # Setting one answers with it: hidden too.
    answer = invoke("variables", "set", "api_token", "tok-123456", "-o", "json")
    assert json.loads(answer.stdout)["value"] == "***"


def test_variables_get_in_plain_text_prints_the_value_for_scripts(store: SqlStore) -> None:
    """The one deliberate way to read a secret back (``$(headwater variables get x)``)."""
    assert invoke("variables", "set", "db_password", VALUE).exit_code == 0
    assert invoke("variables", "get", "db_password").stdout == f"{VALUE}\n"


def test_a_secret_in_a_runs_conf_is_hidden(store: SqlStore) -> None:
    conf = json.dumps({"api_token": "abc-123-def", "rows": 5})
    triggered = invoke("dags", "trigger", "etl", "--conf", conf, "-o", "json")
    assert triggered.exit_code == 0, triggered.output
    assert json.loads(triggered.stdout)["conf"] == {"api_token": "***", "rows": 5}
    runs = json.loads(invoke("dags", "list-runs", "etl", "-o", "json").stdout)
    assert [run["conf"] for run in runs] == [{"api_token": "***", "rows": 5}]
    # Stored as given: the run's tasks read the real value.
    (stored,) = store.list_dag_runs("etl")
    assert stored.conf["api_token"] == "abc-123-def"


def test_config_show_hides_the_fernet_key(
    headwater_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "q7SsNyO8CmM4tLzJ3Xx0j7Q1u9kq0u7b3gPzY0mZc8E="
    monkeypatch.setenv("HEADWATER__SECRETS__FERNET_KEY", key)
    table = invoke("config", "show")
    assert table.exit_code == 0, table.output
    assert key not in table.stdout
    settings = {
        row["setting"]: row for row in json.loads(invoke("config", "show", "-o", "json").stdout)
    }
    assert settings["secrets.fernet_key"]["value"] == "***"
    assert settings["secrets.fernet_key"]["source"].startswith("env")
    # Other settings of the section are shown: only the name's last part is looked at.
    assert settings["secrets.backends"]["value"] != "***"


def test_a_secret_registered_in_the_cli_process_is_hidden_in_any_cell() -> None:
    mask_secret("registered-in-cli")
    assert redacted_row(["task", "error"], ["t", "bad registered-in-cli!"]) == ["t", "bad ***!"]
    assert redacted_row(["field", "value"], ["password", "x"]) == ["password", "***"]
    assert redacted_row(["field", "value"], ["state", "failed"]) == ["state", "failed"]
    assert redacted_row(["password"], ["x", "extra cell"]) == ["***", "extra cell"]


def test_xcom_and_rendered_views_say_what_is_missing(
    store: SqlStore, tmp_path: Path, settings: Settings
) -> None:
    run_now(store, tmp_path / "dags", "etl", "r1", settings)
    shown = invoke("tasks", "xcom", "etl", "r1", "extract", "-o", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["value"] == [1, 2, 3]

    missing = invoke("tasks", "xcom", "etl", "r1", "extract", "--key", "nope")
    assert missing.exit_code == 1
    assert "task instance extract of run 'r1' has no XCom 'nope'" in missing.stderr
    no_task = invoke("tasks", "xcom", "etl", "r1", "ghost")
    assert no_task.exit_code == 1 and "has no task 'ghost'" in no_task.stderr

    rendered = invoke("tasks", "rendered", "etl", "r1", "report", "-o", "json")
    assert rendered.exit_code == 0, rendered.output
    assert json.loads(rendered.stdout)["try_number"] == 1
    no_try = invoke("tasks", "rendered", "etl", "r1", "report", "--try", "9")
    assert no_try.exit_code == 1
    assert "has no try 9; its tries: 1" in no_try.stderr
