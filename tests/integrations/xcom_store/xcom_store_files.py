"""What the tests of the object store look at: the files under its folder."""

from __future__ import annotations

import re
from pathlib import Path

_TOKEN = re.compile(r"\.[0-9a-f]{12}\.(?=[a-z]+$)")


def files_under(root: Path) -> list[str]:
    """The files under ``root``, as paths relative to it, sorted, each file's unique token
    shown as ``<token>`` (``produce/return_value.<token>.bin``)."""
    found = (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return sorted(_TOKEN.sub(".<token>.", name) for name in found)


def the_file(folder: Path) -> Path:
    """The one file directly in ``folder``."""
    [path] = [p for p in folder.iterdir() if p.is_file()]
    return path
