"""What the tests of the object store look at: the files under its folder."""

from __future__ import annotations

from pathlib import Path


def files_under(root: Path) -> list[str]:
    """The files under ``root``, as paths relative to it, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
