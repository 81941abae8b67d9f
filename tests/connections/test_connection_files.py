"""``connections export | import`` and ``variables export | import``: JSON or YAML files,
written owner-only (they hold secrets in clear), read all or nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from headwater.services import config_files
from headwater.store.base import Connection
from headwater.store.sql import SqlStore
from stored_dags import invoke

CONNECTIONS = [
    Connection(
        "api",
        "http",
        host="api.example.com",
        login="me",
        password="p@ss:w/o?r#d",
        port=8443,
        extra={"timeout": 30, "api_token": "tok"},
        description="the reports API",
    ),
    Connection("files", "fs", extra={"path": "/data"}),
    Connection("warehouse", "postgres", host="db", login="etl", password="pw", schema="r"),
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("name", "fmt"), [("out.json", "json"), ("out.yaml", "yaml")])
def test_export_then_import_gives_back_every_connection(
    store: SqlStore, tmp_path: Path, name: str, fmt: str
) -> None:
    for connection in CONNECTIONS:
        store.set_connection(connection)
    path = tmp_path / name
    path.write_text("old, readable by others")
    path.chmod(0o644)
    result = invoke("connections", "export", str(path))
    assert (result.exit_code, result.stdout) == (
        0,
        f"Exported 3 connection(s) to {path} ({fmt}, mode 0600: it holds passwords in clear)\n",
    )
    assert _mode(path) == 0o600
    data = json.loads(path.read_text()) if fmt == "json" else yaml.safe_load(path.read_text())
    assert data["api"] == {
        "conn_type": "http",
        "description": "the reports API",
        "host": "api.example.com",
        "login": "me",
        "password": "p@ss:w/o?r#d",
        "schema": None,
        "port": 8443,
        "extra": {"timeout": 30, "api_token": "tok"},
    }
    for connection in CONNECTIONS:
        store.delete_connection(connection.conn_id)
    result = invoke("connections", "import", str(path))
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 3 connection(s) from {path} (3 added, 0 replaced)\n",
    )
    assert store.list_connections() == CONNECTIONS


def test_import_reads_airflows_forms_and_replaces_only_with_overwrite(
    store: SqlStore, tmp_path: Path
) -> None:
    store.set_connection(Connection("warehouse", "postgres", host="old"))
    path = tmp_path / "airflow.yml"
    path.write_text(
        "warehouse: postgresql://etl:s%40cret@new:5432/reports\n"
        "api:\n"
        "  conn_type: http\n"
        "  host: api\n"
        "  extra: '{\"timeout\": 5}'\n"
    )
    result = invoke("connections", "import", str(path))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {path}: connection(s) warehouse exist already; none imported "
        "(--overwrite replaces them)\n",
    )
    assert [c.conn_id for c in store.list_connections()] == ["warehouse"]
    data = json.loads(
        invoke("connections", "import", str(path), "--overwrite", "-o", "json").stdout
    )
    assert data == {"path": str(path), "added": ["api"], "replaced": ["warehouse"]}
    assert store.get_connection("warehouse") == Connection(
        "warehouse", "postgres", host="new", login="etl", password="s@cret", port=5432,
        schema="reports",
    )  # fmt: skip
    assert store.get_connection("api") == Connection(
        "api", "http", host="api", extra={"timeout": 5}
    )


def test_every_bad_entry_is_named_and_nothing_is_imported(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "good": {"conn_type": "http", "host": "h"},
                "no_type": {"host": "h"},
                "bad_port": {"conn_type": "http", "port": 99999},
                "typo": {"conn_type": "http", "hots": "h"},
                "strange_type": {"conn_type": "nosuchdb"},
                "bad uri": "http://h",
                "bad_uri": "nohost",
            }
        )
    )
    result = invoke("connections", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: 6 bad connection(s), none imported:\n  - ")
    for expected in (
        "connection 'no_type': conn_type is required",
        "connection 'bad_port': port 99999 is not a number from 1 to 65535",
        "connection 'typo': unknown field(s) hots",
        "connection 'strange_type': unknown connection type 'nosuchdb'",
        "conn_id 'bad uri' is not valid",
        "connection 'bad_uri': the URI has no type before ://",
    ):
        assert expected in result.stderr
    assert store.list_connections() == []


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("c.json", '{"a": {"conn_type": "http"}, "a": {}}', [], "key 'a' is given twice"),
        ("c.yaml", "a:\n  conn_type: http\na:\n  conn_type: fs\n", [], "key 'a' is given twice"),
        ("c.yaml", "a: [unclosed\n", [], "not valid YAML"),
        ("c.json", "[1, 2]", [], "must hold one object of id: entry, not list"),
        ("c.json", '{"a": {"conn_type": "http", "extra": {"x": NaN}}}', [], "NaN is not JSON"),
        ("c.txt", "{}", [], "cannot tell the format from the extension '.txt'"),
        (
            "c.yaml",
            "a:\n  conn_type: http\n  extra: {since: 2024-01-31}\n",
            [],
            "connection 'a': extra is not JSON: Object of type date is not JSON serializable",
        ),
        ("c.txt", "a:\n  conn_type: http\n", ["--format", "json"], "c.txt"),
    ],
)
def test_a_bad_file_is_named(
    store: SqlStore, tmp_path: Path, name: str, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = invoke("connections", "import", str(path), *args)
    assert result.exit_code == 1
    assert message in result.stderr and str(path) in result.stderr
    assert store.list_connections() == []


def test_a_missing_or_huge_file_is_refused(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke("connections", "import", str(tmp_path / "none.json"))
    assert result.exit_code == 1 and "none.json: cannot be read" in result.stderr
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"a": {"conn_type": "http", "description": "x" * 100}}))
    monkeypatch.setattr(config_files, "MAX_FILE_BYTES", 64)
    result = invoke("connections", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}: {path.stat().st_size:,} bytes is too large (at most 64)" in result.stderr


def test_a_format_given_wins_over_the_extension(store: SqlStore, tmp_path: Path) -> None:
    store.set_connection(CONNECTIONS[1])
    path = tmp_path / "connections.txt"
    assert invoke("connections", "export", str(path), "--format", "yaml").exit_code == 0
    assert yaml.safe_load(path.read_text())["files"]["extra"] == {"path": "/data"}
    store.delete_connection("files")
    assert invoke("connections", "import", str(path), "--format", "yaml").exit_code == 0
    assert store.list_connections() == [CONNECTIONS[1]]


# -- variables -----------------------------------------------------------------------------------


def test_variables_export_then_import(store: SqlStore, tmp_path: Path) -> None:
    store.set_variable("region", "eu")
    store.set_variable("limits", '{"rows": 10}')
    store.set_variable("db_password", "s3cret")
    path = tmp_path / "variables.json"
    result = invoke("variables", "export", str(path))
    assert (result.exit_code, result.stdout) == (
        0,
        f"Exported 3 variable(s) to {path} (json, mode 0600)\n",
    )
    assert _mode(path) == 0o600
    assert json.loads(path.read_text()) == {
        "db_password": "s3cret",
        "limits": '{"rows": 10}',
        "region": "eu",
    }
    for key in ("region", "limits", "db_password"):
        store.delete_variable(key)
    result = invoke("variables", "import", str(path))
    assert result.stdout == f"Imported 3 variable(s) from {path} (3 added, 0 replaced)\n"
    assert [(v.key, v.value) for v in store.list_variables()] == [
        ("db_password", "s3cret"),
        ("limits", '{"rows": 10}'),
        ("region", "eu"),
    ]


def test_variables_import_stores_json_values_as_text_for_var_json(
    store: SqlStore, tmp_path: Path
) -> None:
    store.set_variable("region", "eu")
    path = tmp_path / "variables.yaml"
    path.write_text("region: us\nlimits:\n  rows: 10\nratio: 0.5\nflags: [a, b]\n")
    result = invoke("variables", "import", str(path))
    assert result.exit_code == 1
    assert "variable(s) region exist already; none imported" in result.stderr
    assert store.get_variable("limits") is None
    data = json.loads(invoke("variables", "import", str(path), "--overwrite", "-o", "json").stdout)
    assert data == {
        "path": str(path),
        "added": ["flags", "limits", "ratio"],
        "replaced": ["region"],
    }
    assert store.get_variable("limits") == '{"rows": 10}'
    assert store.get_variable("flags") == '["a", "b"]'
    assert store.get_variable("ratio") == "0.5"
    assert store.get_variable("region") == "us"


def test_variables_import_names_every_bad_entry(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "variables.yaml"
    path.write_text("good: x\nbad key: y\nempty: null\nwhen: 2024-01-31\n")
    result = invoke("variables", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: 3 bad variable(s), none imported:\n  - ")
    assert "variable key 'bad key' is not valid" in result.stderr
    assert "variable 'empty': the value is empty (null)" in result.stderr
    assert "variable 'when': the value is not JSON" in result.stderr
    assert store.list_variables() == []


def test_variables_list_hides_values_of_secret_looking_keys(store: SqlStore) -> None:
    store.set_variable("db_password", "s3cret")
    store.set_variable("region", "eu")
    listed = json.loads(invoke("variables", "list", "-o", "json").stdout)
    assert [(v["key"], v["value"]) for v in listed] == [("db_password", "***"), ("region", "eu")]
    assert "s3cret" not in invoke("variables", "list").stdout
    assert invoke("variables", "get", "db_password").stdout == "s3cret\n"


def test_variables_commands_have_help() -> None:
    for command in ("get", "set", "list", "delete", "export", "import"):
        result = invoke("variables", command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout, command


def test_a_file_of_many_bad_entries_lists_the_first_twenty(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps({f"c{n:02d}": {"host": "h"} for n in range(25)}))
    result = invoke("connections", "import", str(path))
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {path}: 25 bad connection(s), none imported:"
    assert lines[1:] == [
        *(f"  - connection 'c{n:02d}': conn_type is required" for n in range(20)),
        "  - and 5 more",
    ]
