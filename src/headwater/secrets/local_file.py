"""Files as a secrets backend: one file of connections and one of variables (either may be
left out), each a flat mapping from id or key to value, in YAML, JSON or ``.env`` form, told
apart by the file's extension.

``connections.yaml``::

    warehouse: postgresql://ann:pw@db:5432/sales     # a URI
    api:                                             # or the connection's fields
      conn_type: http
      host: api.example.com
      extra: {timeout: 10}

``variables.env``::

    region=eu
    limits={"rows": 10}

In YAML and JSON a variable may be any value JSON can hold; one that is not text is kept as
its JSON text, so ``var.json.limits`` reads it back. A file is read again only when its size
or modification time changes. Anything wrong (no such file, a duplicate key, a value that is
not a connection) is an error naming the file, the key and, where it can, the line; never the
value itself, which may be a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.connection_values import connection_from_value
from headwater.secrets.errors import SecretsContentError
from headwater.strict_json import InvalidJsonError, dumps, loads

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "env"}
"""File extension -> format."""

T = TypeVar("T")

MAX_FILE_BYTES = 16 * 1024 * 1024
"""A larger file is refused: a secrets file that big is a wrong path, not secrets."""


@dataclass(frozen=True)
class Entry:
    """One key of a file, its value as read, and where it is (for errors)."""

    key: str
    value: Any
    where: str


def file_format(path: Path, setting: str) -> str:
    """The format of ``path`` by its extension; an error naming ``setting`` if unknown."""
    suffix = path.suffix.lower() if path.suffix else path.name.lower()
    found = FORMATS.get(suffix)
    if found is None:
        raise SecretsContentError(
            f"{setting}: {str(path)!r} must end in {', '.join(FORMATS)} (the extension "
            "says the format)"
        )
    return found


class LocalFileBackend(SecretsBackend):
    """Connections from ``connections_file`` and variables from ``variables_file``.

    Example: ``LocalFileBackend(connections_file="/run/secrets/connections.yaml")``.
    """

    def __init__(
        self, connections_file: str | Path | None = None, variables_file: str | Path | None = None
    ) -> None:
        self._connections = _CachedFile(connections_file, "connections file", _parse_connections)
        self._variables = _CachedFile(variables_file, "variables file", _parse_variables)

    def get_connection(self, conn_id: str) -> Connection | None:
        return self._connections.entries().get(conn_id)

    def get_variable(self, key: str) -> str | None:
        return self._variables.entries().get(key)

    def __repr__(self) -> str:
        files = [str(f.path) for f in (self._connections, self._variables) if f.path]
        return f"files ({', '.join(files) or 'none set'})"


class _CachedFile(Generic[T]):
    """A file parsed once per change of its size or modification time."""

    def __init__(
        self, path: str | Path | None, role: str, parse: Callable[[list[Entry]], dict[str, T]]
    ) -> None:
        self.path = Path(path).expanduser() if path else None
        self.role = role
        self._parse = parse
        if self.path is not None:
            file_format(self.path, role)  # refuse a bad extension now, not at first lookup
        self._stamp: tuple[int, int] | None = None
        self._parsed: dict[str, T] = {}

    def entries(self) -> dict[str, T]:
        if self.path is None:
            return {}
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise SecretsContentError(f"{self.role} {self.path}: no such file") from None
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            self._parsed = self._parse(read_entries(self.path, self.role))
            self._stamp = stamp
        return self._parsed


def _parse_connections(entries: list[Entry]) -> dict[str, Connection]:
    return {e.key: connection_from_value(e.key, e.value, e.where) for e in entries}


def _parse_variables(entries: list[Entry]) -> dict[str, str]:
    parsed = {}
    for entry in entries:
        value = entry.value
        if value is None:
            raise SecretsContentError(f"{entry.where}: the variable has no value")
        if not isinstance(value, str):
            try:
                value = dumps(value)
            except (InvalidJsonError, TypeError):
                raise SecretsContentError(
                    f"{entry.where}: a variable is text, a number, true/false, a list or an "
                    f"object, not {type(value).__name__}"
                ) from None
        parsed[entry.key] = value
    return parsed


def read_entries(path: Path, role: str = "secrets file") -> list[Entry]:
    """The keys of a YAML, JSON or ``.env`` file, in order, each with where it is."""
    kind = file_format(path, role)
    text = _read_text(path, role)
    if kind == "yaml":
        return list(_yaml_entries(path, text))
    if kind == "json":
        return _json_entries(path, text)
    return list(_env_entries(path, text))


def _read_text(path: Path, role: str) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SecretsContentError(f"{role} {path}: no such file") from None
    except OSError as exc:
        raise SecretsContentError(f"{role} {path}: cannot be read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SecretsContentError(
            f"{role} {path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise SecretsContentError(
            f"{role} {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start})"
        ) from None


def _where(path: Path, key: str, line: int | None) -> str:
    return f"{path}, key {key!r}" + (f" (line {line})" if line else "")


def _yaml_entries(path: Path, text: str) -> Iterator[Entry]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return
        if not isinstance(root, yaml.MappingNode):
            raise SecretsContentError(
                f"{path}, line {root.start_mark.line + 1}: the file must be a mapping of id: value"
            )
        seen: set[str] = set()
        for key_node, value_node in root.value:
            line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str) or not key:
                raise SecretsContentError(f"{path}, line {line}: a key must be non-empty text")
            if key in seen:
                raise SecretsContentError(f"{_where(path, key, line)}: given twice")
            seen.add(key)
            value = loader.construct_object(value_node, deep=True)
            yield Entry(key, value, _where(path, key, line))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SecretsContentError(f"{path}{at}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()


def _json_entries(path: Path, text: str) -> list[Entry]:
    try:
        value = loads(text, str(path))
    except InvalidJsonError as exc:
        raise SecretsContentError(str(exc)) from None
    if not isinstance(value, dict):
        raise SecretsContentError(f"{path}: the file must be a JSON object of id: value")
    lines = text.splitlines()
    return [
        Entry(key, item, _where(path, key, _json_key_line(lines, key)))
        for key, item in value.items()
    ]


def _json_key_line(lines: list[str], key: str) -> int | None:
    """The first line where ``"key":`` appears (a good guess for a hand-written file)."""
    needle = dumps(key)
    for number, line in enumerate(lines, start=1):
        at = line.find(needle)
        if at >= 0 and line[at + len(needle) :].lstrip().startswith(":"):
            return number
    return None


def _env_entries(path: Path, text: str) -> Iterator[Entry]:
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise SecretsContentError(f"{path}, line {number}: expected KEY=VALUE")
        if key in seen:
            raise SecretsContentError(f"{_where(path, key, number)}: given twice")
        seen.add(key)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        yield Entry(key, value, _where(path, key, number))
