"""The file backend: connections and variables from YAML, JSON or .env files, picked by
extension; bad content is an error naming the file, the key and the line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headwater.secrets import Connection, LocalFileBackend, SecretsContentError

YAML_CONNECTIONS = """\
# the team's connections
warehouse: postgresql://ann:pw@db.local:5432/sales
api:
  conn_type: http
  host: api.example.com
  password: tok-1
  extra: {timeout: 10}
"""


def test_yaml_connections_as_uri_or_fields(tmp_path: Path) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(YAML_CONNECTIONS)
    backend = LocalFileBackend(connections_file=path)
    warehouse = backend.get_connection("warehouse")
    assert warehouse is not None
    assert (warehouse.conn_type, warehouse.host, warehouse.password) == (
        "postgres",  # the scheme postgresql is the type postgres
        "db.local",
        "pw",
    )
    assert backend.get_connection("api") == Connection(
        conn_id="api",
        conn_type="http",
        host="api.example.com",
        password="tok-1",
        extra={"timeout": 10},
    )
    assert backend.get_connection("nope") is None
    assert backend.get_variable("warehouse") is None  # no variables file: no variables


def test_json_connections_and_variables(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"db": {"conn_type": "sqlite", "host": "/tmp/x.db"}}')
    (tmp_path / "v.json").write_text('{"region": "eu", "limits": {"rows": 10}, "retries": 3}')
    backend = LocalFileBackend(tmp_path / "c.json", tmp_path / "v.json")
    db = backend.get_connection("db")
    assert db is not None and db.host == "/tmp/x.db"
    assert backend.get_variable("region") == "eu"
    assert backend.get_variable("limits") == '{"rows": 10}'  # kept as JSON for var.json
    assert backend.get_variable("retries") == "3"


def test_env_files(tmp_path: Path) -> None:
    (tmp_path / "conns.env").write_text(
        "# comment\n\nexport db=postgresql://u:pw@h:5432/d\napi='http://api.example.com'\n"
    )
    (tmp_path / "vars.env").write_text('region=eu\nquery="a = b"\nempty=\n')
    backend = LocalFileBackend(tmp_path / "conns.env", tmp_path / "vars.env")
    db = backend.get_connection("db")
    assert db is not None and (db.login, db.port) == ("u", 5432)
    api = backend.get_connection("api")
    assert api is not None and api.host == "api.example.com"
    assert backend.get_variable("region") == "eu"
    assert backend.get_variable("query") == "a = b"
    assert backend.get_variable("empty") == ""


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "vars.yaml"
    path.write_text("region: eu\n")
    backend = LocalFileBackend(variables_file=path)
    assert backend.get_variable("region") == "eu"
    path.write_text("region: us-east\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert backend.get_variable("region") == "us-east"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.yaml", "a: sqlite:///x\na: sqlite:///y\n", "key 'a' (line 2): given twice"),
        ("c.yaml", "a: sqlite:///x\nb: [oops\n", "line 3: not valid YAML"),
        ("c.yaml", "- a\n- b\n", "line 1: the file must be a mapping"),
        (
            "c.yaml",
            "a: sqlite:///x\nb:\n  conn_type: http\n  prot: 1\n",
            "key 'b' (line 2): connection 'b': unknown",
        ),
        ("c.yaml", "a: 5\n", "key 'a' (line 1): a connection is a URI string or an object"),
        (
            "c.json",
            '{\n  "a": "sqlite:///x",\n  "b": "nope"\n}',
            "key 'b' (line 3): not a connection",
        ),
        ("c.json", '{"a": 1,}', "not valid JSON"),
        ("c.json", '{"a": "sqlite:///x", "a": "sqlite:///y"}', "key 'a' is given twice"),
        ("c.env", "a=sqlite:///x\nno equals sign\n", "line 2: expected KEY=VALUE"),
        ("c.env", "a=sqlite:///x\na=sqlite:///y\n", "key 'a' (line 2): given twice"),
    ],
)
def test_bad_connection_files_name_the_file_key_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SecretsContentError) as caught:
        LocalFileBackend(connections_file=path).get_connection("a")
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_bad_variable_values_and_files(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("when: 2024-01-01\nregion: eu\n")
    with pytest.raises(SecretsContentError, match=r"key 'when' \(line 1\): a variable is text"):
        LocalFileBackend(variables_file=tmp_path / "v.yaml").get_variable("region")
    (tmp_path / "n.yaml").write_text("region:\n")
    with pytest.raises(SecretsContentError, match=r"key 'region' \(line 1\): the variable has no"):
        LocalFileBackend(variables_file=tmp_path / "n.yaml").get_variable("region")
    (tmp_path / "b.env").write_bytes(b"a=\xff\n")
    with pytest.raises(SecretsContentError, match=r"b\.env: not UTF-8 text \(byte 0xff"):
        LocalFileBackend(variables_file=tmp_path / "b.env").get_variable("a")


def test_a_missing_file_or_an_unknown_extension_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SecretsContentError, match=r"connections file .*gone\.yaml: no such file"):
        LocalFileBackend(connections_file=tmp_path / "gone.yaml").get_connection("a")
    with pytest.raises(
        SecretsContentError, match=r"'.*conns\.txt' must end in \.yaml, \.yml, \.json"
    ):
        LocalFileBackend(connections_file=tmp_path / "conns.txt")


def test_an_empty_yaml_file_holds_nothing(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("# nothing yet\n")
    assert LocalFileBackend(connections_file=tmp_path / "c.yml").get_connection("a") is None
