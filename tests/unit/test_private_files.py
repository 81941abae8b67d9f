"""Owner-only files and folders whatever the umask, and the umask left as it was."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engine.records import TaskInstanceKey
from headwater.private_files import create_private_file, make_private_folders
from headwater.runtime.logs import append_attempt_line, attempt_log_path


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=lambda m: f"umask {m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_folders_and_files_are_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    make_private_folders(tmp_path / "a" / "b" / "c")
    for folder in ("a", "a/b", "a/b/c"):
        assert mode(tmp_path / folder) == 0o700, folder
    assert create_private_file(tmp_path / "a" / "db")
    assert mode(tmp_path / "a" / "db") == 0o600
    assert not create_private_file(tmp_path / "a" / "db")  # exists: left as it is
    assert os.umask(umask) == umask  # never changed


def test_existing_folders_keep_their_mode(tmp_path: Path, umask: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    make_private_folders(shared / "mine")
    assert (mode(shared), mode(shared / "mine")) == (0o755, 0o700)


def test_attempt_logs_are_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    key = TaskInstanceKey("etl", "run_1", "load", 3)
    path = attempt_log_path(tmp_path / "logs", key, 1)
    append_attempt_line(path, 20, "hello")
    assert mode(path) == 0o600
    folder = Path(path).parent
    while folder != tmp_path:
        assert mode(folder) == 0o700, folder
        folder = folder.parent
