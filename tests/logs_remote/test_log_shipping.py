"""Shipping a running attempt's log to ``[logging] remote_log_folder`` (runtime.log_shipping)
with explicit flushes, and reading the shipped copy back (RemoteLogFolder.read): what was new
is shipped, up to its last whole line, nothing twice; failures are logged once and shipped
again later; the complete copy replaces the parts. On a folder, ``file://`` and ``memory://``."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.runtime.log_shipping import LogShipper
from headwater.runtime.remote_logs import RemoteLogFolder

RELATIVE = os.path.join("dag_id=etl", "run_id=r1", "task_id=load", "attempt=1.log")


@pytest.fixture(params=["folder", "file", "memory"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "folder":
        yield str(tmp_path / "remote")
    elif request.param == "file":
        yield (tmp_path / "remote").as_uri()
    else:
        import fsspec

        url = f"memory://headwater-shipping-{uuid.uuid4().hex}"
        yield url
        fs = fsspec.filesystem("memory")
        if fs.exists(url):
            fs.rm(url, recursive=True)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / RELATIVE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    return path


def _append(path: Path, text: str) -> None:
    with path.open("ab") as file:
        file.write(text.encode())


def _shipped(sink: RemoteLogFolder) -> bytes:
    found = sink.read(RELATIVE, 0, 1 << 20)
    assert found is not None
    data, size = found
    assert size == len(data)
    return data


def _part_sizes(sink: RemoteLogFolder) -> list[tuple[int, int]]:
    return sink._parts(RELATIVE)


def test_what_is_new_is_shipped_up_to_its_last_whole_line_and_nothing_twice(
    remote_url: str, log_file: Path, tmp_path: Path
) -> None:
    sink = RemoteLogFolder(remote_url, tmp_path / "logs")
    shipper = LogShipper(sink, 2.0, background=False)
    shipper.follow(str(log_file))
    shipper.flush()
    assert sink.read(RELATIVE, 0, 100) is None  # nothing written: nothing shipped

    _append(log_file, "[t] {INFO} one\n[t] {INFO} two\n[t] {INFO} thr")
    shipper.flush()
    assert _shipped(sink) == b"[t] {INFO} one\n[t] {INFO} two\n"  # the partial line waits

    _append(log_file, "ee\n[t] {INFO} four\n")
    shipper.flush()
    shipper.flush()  # nothing new: no part
    assert _shipped(sink) == log_file.read_bytes()
    ranges = _part_sizes(sink)
    assert ranges == [(0, 30), (30, log_file.stat().st_size)]  # each byte in one part

    whole = log_file.read_bytes()
    assert sink.read(RELATIVE, 20, 14) == (whole[20:34], len(whole))  # across parts

    assert shipper.finish(str(log_file)) is True
    _append(log_file, "[t] {INFO} after the end\n")
    shipper.flush()
    assert _part_sizes(sink) == ranges  # a finished log is no longer shipped


def test_the_complete_copy_replaces_the_parts(
    remote_url: str, log_file: Path, tmp_path: Path
) -> None:
    sink = RemoteLogFolder(remote_url, tmp_path / "logs")
    shipper = LogShipper(sink, 2.0, background=False)
    shipper.follow(str(log_file))
    _append(log_file, "[t] {INFO} one\n")
    shipper.flush()
    _append(log_file, "[t] {INFO} last, without a newline")
    assert shipper.finish(str(log_file))

    sink.copy(log_file)
    assert _shipped(sink) == log_file.read_bytes()  # the complete copy wins
    sink.remove_live(RELATIVE)
    assert _part_sizes(sink) == []
    assert _shipped(sink) == log_file.read_bytes()
    assert sink.has_copy(RELATIVE)


def test_a_part_not_written_whole_ends_the_copy_before_it(tmp_path: Path) -> None:
    sink = RemoteLogFolder(str(tmp_path / "remote"), tmp_path / "logs")
    sink.write_part(RELATIVE, 0, b"one\n")
    sink.write_part(RELATIVE, 4, b"two\n")
    torn = Path(sink.live_folder(RELATIVE), "part-000000000000008-000000000000014.log")
    torn.write_bytes(b"thr")  # as an object store's writer cut short would leave it
    sink.write_part(RELATIVE, 20, b"after a gap\n")  # not contiguous: not part of the copy
    assert sink.read(RELATIVE, 0, 100) == (b"one\ntwo\n", 8)


def test_a_failing_sink_is_logged_once_and_shipped_again_later(
    log_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    sink = RemoteLogFolder(str(blocker / "remote"), tmp_path / "logs")
    shipper = LogShipper(sink, 2.0, background=False)
    shipper.follow(str(log_file))
    _append(log_file, "[t] {INFO} one\n")
    with caplog.at_level(logging.WARNING, logger="headwater.runtime.log_shipping"):
        shipper.flush()
        _append(log_file, "[t] {INFO} two\n")
        shipper.flush()
    (warning,) = caplog.records
    assert warning.getMessage().startswith(f"Could not ship the running log {log_file} to ")
    assert "later failures of this log are not logged" in warning.getMessage()

    blocker.unlink()  # the remote folder is back
    shipper.flush()
    assert _shipped(sink) == b"[t] {INFO} one\n[t] {INFO} two\n"  # nothing lost


def test_a_log_written_in_another_logs_folder_keeps_its_place(tmp_path: Path) -> None:
    sink = RemoteLogFolder(str(tmp_path / "remote"), tmp_path / "worker-logs")
    elsewhere = tmp_path / "scheduler-logs" / RELATIVE
    assert sink.relative(elsewhere) == RELATIVE
