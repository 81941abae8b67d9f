"""The virtualenv cache itself: a second creator of the same environment waits for the first
and reuses what it built; a folder a killed creator left half built is built again."""

from __future__ import annotations

import fcntl
import logging
import sys
import threading
from pathlib import Path

import pytest

from headwater.operators._venv_cache import READY_MARKER, VenvSpec, _create, cached_virtualenv


class _Lines(logging.Handler):
    """Collects messages; sets ``seen`` when one contains ``wanted``."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.lines: list[str] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.lines.append(message)
        if self.wanted in message:
            self.seen.set()


@pytest.fixture
def spec() -> VenvSpec:
    return VenvSpec(sys.executable, (), False, ())


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(f"test_virtualenv_cache.{name}")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.propagate = False
    return log


def test_a_second_creator_waits_and_reuses(spec: VenvSpec, tmp_path: Path) -> None:
    folder = tmp_path / spec.key(sys.version)
    lines = _Lines("Waiting for another task")
    log = _logger("second", lines)
    found: list[Path] = []
    with open(tmp_path / f"{folder.name}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first creator, at work
        second = threading.Thread(
            target=lambda: found.append(cached_virtualenv(spec, tmp_path, log))
        )
        second.start()
        assert lines.seen.wait(timeout=60), lines.lines
        _create(spec, folder, 60, logging.getLogger("test_virtualenv_cache.first"))
    second.join(timeout=60)

    assert found == [folder / "bin" / "python"]
    assert any("another task just created" in line for line in lines.lines)
    assert not any(line.startswith("Creating") for line in lines.lines)


def test_a_half_built_folder_is_removed_and_built_again(spec: VenvSpec, tmp_path: Path) -> None:
    folder = tmp_path / spec.key(sys.version)
    folder.mkdir()
    (folder / "left-over").write_text("a creator was killed here")
    lines = _Lines("half-built")
    python = cached_virtualenv(spec, tmp_path, _logger("half", lines))

    assert lines.seen.is_set()
    assert python == folder / "bin" / "python" and python.exists()
    assert (folder / READY_MARKER).is_file()
    assert not (folder / "left-over").exists()
