"""The files ``connections`` and ``variables`` are exported to and imported from: one JSON or
YAML object (format by the file's extension or given), read strictly and written privately.

Reading refuses a file over :data:`MAX_FILE_BYTES`, text that is not standard JSON (no NaN,
no duplicate keys: :mod:`headwater.strict_json`) or YAML with a key given twice, each error
naming the file. Writing creates or truncates the file with mode ``0600`` before a byte is
written: an export holds passwords in clear.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from headwater.operations.errors import InvalidRequestError

FORMATS = ("json", "yaml")
EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest file an import reads (a file of connections or variables is far smaller)."""
PRIVATE_FILE_MODE = 0o600
SHOWN_PROBLEMS = 20
"""At most this many bad entries are listed one by one; the rest are counted."""


def file_format(path: Path, given: str | None) -> str:
    """``given`` (json or yaml), else the format ``path``'s extension says."""
    if given is not None:
        if given not in FORMATS:
            raise InvalidRequestError(f"format {given!r} is not one of {', '.join(FORMATS)}")
        return given
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidRequestError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; name it "
            f"{', '.join(EXTENSIONS)} or give the format (--format json|yaml)"
        )
    return found


def read_object(path: Path, fmt: str | None) -> dict[str, Any]:
    """The JSON or YAML object in ``path``; an :class:`InvalidRequestError` names the file."""
    kind = file_format(path, fmt)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidRequestError(
                f"{path}: {size:,} bytes is too large (at most {MAX_FILE_BYTES:,})"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"{path}: cannot be read: {exc}") from None
    data = _parse_json(path, text) if kind == "json" else _parse_yaml(path, text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidRequestError(
            f"{path}: must hold one object of id: entry, not {type(data).__name__}"
        )
    return data


def write_private(path: Path, data: dict[str, Any], fmt: str | None) -> str:
    """Write ``data`` to ``path`` (created or replaced, mode 0600); returns the format."""
    kind = file_format(path, fmt)
    if kind == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        # An existing file keeps its mode through O_CREAT: make it private before writing.
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise InvalidRequestError(f"{path}: cannot be written: {exc}") from None
    return kind


def bad_entries(path: Path, what: str, problems: list[str]) -> str:
    """The message refusing a file with bad entries: one line each, the first
    :data:`SHOWN_PROBLEMS` of them."""
    lines = [f"\n  - {problem}" for problem in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"\n  - and {len(problems) - SHOWN_PROBLEMS} more")
    return f"{path}: {len(problems)} bad {what}(s), none imported:" + "".join(lines)


def _parse_json(path: Path, text: str) -> Any:
    from headwater.strict_json import InvalidJsonError, loads

    try:
        return loads(text, str(path))
    except InvalidJsonError as exc:
        raise InvalidRequestError(str(exc)) from None


def _parse_yaml(path: Path, text: str) -> Any:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """YAML's safe loader, refusing a key given twice (it would keep the last)."""

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return loader.construct_mapping(node)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InvalidRequestError(f"{path}: not valid YAML: {exc}") from None
