"""A second sink for task logs (``[logging] remote_log_folder``): a folder, or an fsspec URL
(``s3://bucket/logs``, ``gcs://...``, ``file:///...``, ``memory://...``).

When an attempt ends, the process that ran it copies its log file to the same relative
path under the remote folder (``<remote>/dag_id=.../run_id=.../task_id=.../attempt=N.log``),
before its outcome is recorded; so does the process of a DAG's callbacks with
``dag_callbacks.log``. A copy is bounded in time (:data:`TRANSFER_TIMEOUT_S`); one that
fails or times out is a warning in the process's log and never fails the task.

While an attempt runs, what its log gains is shipped as *parts*
(``<remote>/<relative>.live/part-<start>-<end>.log``, :meth:`RemoteLogFolder.write_part`,
by :mod:`headwater.runtime.log_shipping`); they are removed once the complete copy is there.

Readers (``headwater tasks logs``, the log API and UI) look for the local file first; when
it is gone (the attempt ran on another machine, or the local folder was cleaned) they fetch
the complete copy of an ended attempt back to its local place (:func:`fetch_log`), which then
serves every read: complete copies are written once, when their attempt ended, so a fetched
copy never goes stale. A running attempt's parts are read where they are
(:func:`read_remote_log`: the complete copy when there is one, else the parts so far).

URLs need the ``fsspec`` extra (``pip install 'headwater[fsspec]'``) and the package of the
scheme (``s3fs`` for ``s3://``); :func:`check_remote_log_folder` says so when a command starts.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from headwater.exceptions import HeadwaterError
from headwater.private_files import PRIVATE_FILE_MODE, make_private_folders

if TYPE_CHECKING:
    from headwater.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSFER_TIMEOUT_S = 30.0
"""The longest one copy to (or fetch from) the remote folder may take."""

MAX_STUCK_TRANSFERS = 4
"""Transfers still running past their time limit (a hung network filesystem) that a process
keeps; past that, new ones are refused at once instead of starting more threads."""

LIVE_SUFFIX = ".live"
"""The parts of a running attempt's log ``attempt=N.log`` are in ``attempt=N.log.live/``."""

_PART = re.compile(r"^part-(\d{15})-(\d{15})\.log$")

_stuck: list[threading.Thread] = []
_sink: RemoteLogFolder | None = None


class RemoteLogFolder:
    """The remote folder of ``url`` for the logs under ``logs_folder``."""

    def __init__(self, url: str, logs_folder: str | os.PathLike[str]) -> None:
        self.url = url
        self.logs_folder = os.path.abspath(os.fspath(logs_folder))
        self._fs: Any = None
        self._root = url

    @property
    def is_url(self) -> bool:
        return "://" in self.url

    def filesystem(self) -> tuple[Any, str]:
        """The fsspec filesystem of the URL and the folder's path in it (imported once)."""
        if self._fs is None:
            self._fs, self._root = _filesystem(self.url)
        return self._fs, self._root

    def relative(self, local_path: str | os.PathLike[str]) -> str:
        """``local_path`` relative to the logs folder, or an error if it is outside it."""
        relative = os.path.relpath(os.path.abspath(os.fspath(local_path)), self.logs_folder)
        if relative.startswith(os.pardir + os.sep) or relative == os.pardir:
            # Another logs folder (a worker writing where the scheduler's message said): the
            # log's place starts at its dag_id= folder, whatever the folder above it.
            parts = os.path.abspath(os.fspath(local_path)).split(os.sep)
            starts = [i for i, part in enumerate(parts) if part.startswith("dag_id=")]
            if not starts:
                raise HeadwaterError(
                    f"{local_path} is not under the logs folder {self.logs_folder}"
                )
            relative = os.path.join(*parts[starts[-1] :])
        return relative

    def live_folder(self, relative: str) -> str:
        """The remote folder of the parts of a running attempt's log (see :meth:`write_part`)."""
        return self.remote_path(relative + LIVE_SUFFIX)

    def write_part(self, relative: str, start: int, data: bytes) -> None:
        """Write bytes ``start`` to ``start + len(data)`` of the log at ``relative`` as one
        part of its live copy: a new object named by its byte range, which every fsspec
        store (and a folder) can write; none is ever appended to or changed."""
        folder = self.live_folder(relative)
        name = _part_name(start, start + len(data))
        if self.is_url:
            fs = self.filesystem()[0]
            fs.makedirs(folder, exist_ok=True)
            fs.pipe_file(posixpath.join(folder, name), data)
            return
        make_private_folders(folder)
        partial = os.path.join(folder, f".{name}.partial-{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "wb") as part:
            part.write(data)
        os.replace(partial, os.path.join(folder, name))

    def remove_live(self, relative: str) -> None:
        """Remove the parts of the log at ``relative`` (its complete copy is written)."""
        folder = self.live_folder(relative)
        if not self.is_url:
            shutil.rmtree(folder, ignore_errors=True)
            return
        fs = self.filesystem()[0]
        if fs.exists(folder):
            fs.rm(folder, recursive=True)

    def remove_tree(self, relative: str) -> bool:
        """Remove the remote folder at ``relative`` with everything under it (a removed
        run's logs); whether there was one."""
        path = self.remote_path(relative)
        if not self.is_url:
            if not os.path.isdir(path):
                return False
            shutil.rmtree(path)
            return True
        fs = self.filesystem()[0]
        if not fs.exists(path):
            return False
        fs.rm(path, recursive=True)
        return True

    def has_copy(self, relative: str) -> bool:
        """Whether the remote folder has the log at ``relative``: complete, or parts of it."""
        return self._size(self.remote_path(relative)) is not None or bool(self._parts(relative))

    def read(self, relative: str, offset: int, max_bytes: int) -> tuple[bytes, int] | None:
        """Up to ``max_bytes`` from byte ``offset`` of the remote copy of the log at
        ``relative``, and its size: the complete copy when there is one, else what the live
        parts hold so far (up to the first gap). None when there is neither."""
        found = self._read_complete(relative, offset, max_bytes)
        if found is not None:
            return found
        try:
            found = self._read_parts(relative, offset, max_bytes)
        except FileNotFoundError:  # removed meanwhile: the complete copy is there now
            found = None
        return found if found is not None else self._read_complete(relative, offset, max_bytes)

    def _read_complete(
        self, relative: str, offset: int, max_bytes: int
    ) -> tuple[bytes, int] | None:
        path = self.remote_path(relative)
        size = self._size(path)
        if size is None:
            return None
        if offset >= size:
            return b"", size
        return self._read_range(path, offset, min(size, offset + max_bytes)), size

    def _read_parts(self, relative: str, offset: int, max_bytes: int) -> tuple[bytes, int] | None:
        parts = self._parts(relative)
        if not parts:
            return None
        size = parts[-1][1]
        if offset >= size:
            return b"", size
        stop = min(size, offset + max_bytes)
        folder = self.live_folder(relative)
        data = bytearray()
        for start, end in parts:
            if end <= offset or start >= stop:
                continue
            join = posixpath.join if self.is_url else os.path.join
            whole = self._read_range(join(folder, _part_name(start, end)), 0, end - start)
            if len(whole) != end - start:  # not written whole (yet): the copy ends before it
                return bytes(data), start
            data += whole[max(offset - start, 0) : stop - start]
        return bytes(data), size

    def _parts(self, relative: str) -> list[tuple[int, int]]:
        """The byte ranges of the live parts of ``relative`` that follow each other from
        byte 0 (the longest at each start: a retried part may have grown)."""
        folder = self.live_folder(relative)
        try:
            if self.is_url:
                names = [
                    posixpath.basename(p) for p in self.filesystem()[0].ls(folder, detail=False)
                ]
            else:
                names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        ends: dict[int, int] = {}
        for name in names:
            found = _PART.match(name)
            if found:
                start, end = int(found.group(1)), int(found.group(2))
                ends[start] = max(end, ends.get(start, end))
        chain: list[tuple[int, int]] = []
        position = 0
        while position in ends:
            chain.append((position, ends[position]))
            position = ends[position]
        return chain

    def _size(self, path: str) -> int | None:
        if not self.is_url:
            try:
                return os.path.getsize(path) if os.path.isfile(path) else None
            except FileNotFoundError:
                return None
        fs = self.filesystem()[0]
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
        return int(info["size"]) if info.get("type") == "file" else None

    def _read_range(self, path: str, start: int, end: int) -> bytes:
        if self.is_url:
            return bytes(self.filesystem()[0].cat_file(path, start=start, end=end))
        with open(path, "rb") as file:
            file.seek(start)
            return file.read(end - start)

    def remote_path(self, relative: str) -> str:
        parts = relative.split(os.sep)
        if self.is_url:
            return posixpath.join(self.filesystem()[1], *parts)
        return os.path.join(self.url, *parts)

    def copy(self, local_path: str | os.PathLike[str]) -> None:
        """Copy a finished log to its place in the remote folder (replacing an older copy)."""
        target = self.remote_path(self.relative(local_path))
        if self.is_url:
            fs = self.filesystem()[0]
            fs.makedirs(posixpath.dirname(target), exist_ok=True)
            fs.put_file(os.fspath(local_path), target)
            return
        make_private_folders(os.path.dirname(target))
        partial = f"{target}.partial-{os.getpid()}"
        with open(local_path, "rb") as source:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
            with os.fdopen(descriptor, "wb") as copy:
                shutil.copyfileobj(source, copy)
        os.replace(partial, target)

    def fetch(self, relative: str, local_path: str | os.PathLike[str]) -> bool:
        """Fetch the remote copy of ``relative`` to ``local_path``; False when there is none."""
        source = self.remote_path(relative)
        make_private_folders(os.path.dirname(os.fspath(local_path)))
        partial = f"{os.fspath(local_path)}.partial-{os.getpid()}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(descriptor, "wb") as copy:
                if self.is_url:
                    fs = self.filesystem()[0]
                    if not fs.isfile(source):
                        return False
                    with fs.open(source, "rb") as remote:
                        shutil.copyfileobj(remote, copy)
                else:
                    if not os.path.isfile(source):
                        return False
                    with open(source, "rb") as remote:
                        shutil.copyfileobj(remote, copy)
            os.replace(partial, local_path)
            return True
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


def _part_name(start: int, end: int) -> str:
    return f"part-{start:015d}-{end:015d}.log"


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise HeadwaterError(
            f"logging.remote_log_folder {url!r} is a URL, which needs fsspec: install "
            "headwater[fsspec] (pip install 'headwater[fsspec]'), or set a folder"
        ) from None
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise HeadwaterError(f"logging.remote_log_folder {url!r} cannot be used: {exc}") from None
    return fs, str(root)


def check_remote_log_folder(settings: Settings) -> None:
    """Refuse, with one line naming ``logging.remote_log_folder``, a URL whose filesystem
    cannot be loaded (fsspec or the scheme's package missing): said once when a command
    starts, not as a warning after every attempt."""
    url = settings.logging.remote_log_folder
    if url and "://" in url:
        RemoteLogFolder(url, settings.logs_folder).filesystem()


def remote_log_folder(settings: Settings) -> RemoteLogFolder | None:
    """The remote folder of ``settings``, or None when none is set."""
    url = settings.logging.remote_log_folder
    return RemoteLogFolder(url, settings.logs_folder) if url else None


def use_remote_log_folder(settings: Settings | None) -> None:
    """Copy the logs of attempts this process runs to the remote folder of ``settings``
    (none: stop copying). Called by each process that runs attempts when it starts."""
    from headwater.runtime.log_shipping import ship_running_logs

    global _sink
    _sink = None if settings is None else remote_log_folder(settings)
    interval_s = 0.0 if settings is None else settings.logging.remote_log_flush_interval_s
    ship_running_logs(_sink, interval_s)


def copy_finished_log(path: str | os.PathLike[str], *, remove_live: bool = False) -> None:
    """Copy the log at ``path``, whose writer has finished, to this process's remote folder
    (see :func:`use_remote_log_folder`), if it has one, then (``remove_live``) remove the
    parts shipped while it ran. A failure is a warning, never an error: the attempt's
    result matters more than its second copy (readers keep the parts if it fails)."""
    sink = _sink
    if sink is None:
        return

    def copy() -> None:
        sink.copy(path)
        if remove_live:
            sink.remove_live(sink.relative(path))

    try:
        _bounded(copy, f"copying {path} to {sink.url}")
    except Exception as exc:
        log.warning("Could not copy the log %s to %s: %s", path, sink.url, exc)


def fetch_log(remote: RemoteLogFolder, relative: str, local_path: str | os.PathLike[str]) -> bool:
    """Fetch the remote copy of the log at ``relative`` (under the logs folder) back to
    ``local_path``; False when the remote folder has none or it cannot be read (a warning
    says why)."""
    try:
        return _bounded(lambda: remote.fetch(relative, local_path), f"fetching {relative}")
    except Exception as exc:
        log.warning("Could not fetch the log %s from %s: %s", relative, remote.url, exc)
        return False


def _bounded(work: Callable[[], T], what: str) -> T:
    """``work()`` in a thread, waited for at most :data:`TRANSFER_TIMEOUT_S`."""
    _stuck[:] = [thread for thread in _stuck if thread.is_alive()]
    if len(_stuck) >= MAX_STUCK_TRANSFERS:
        raise TimeoutError(f"{len(_stuck)} earlier transfers are still hanging")
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # reported in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=run, name="headwater-remote-log", daemon=True)
    thread.start()
    thread.join(TRANSFER_TIMEOUT_S)
    if thread.is_alive():
        _stuck.append(thread)
        raise TimeoutError(f"{what} took over {TRANSFER_TIMEOUT_S:g} s")
    if error:
        raise error[0]
    return result[0]


def remove_remote_tree(remote: RemoteLogFolder, relative: str) -> bool:
    """:meth:`RemoteLogFolder.remove_tree`, within the time limit of remote calls."""
    return _bounded(lambda: remote.remove_tree(relative), f"removing {relative}")


def read_remote_log(
    remote: RemoteLogFolder, relative: str, offset: int, max_bytes: int
) -> tuple[bytes, int] | None:
    """:meth:`RemoteLogFolder.read`, bounded in time; None when there is no copy or it
    cannot be read (a warning says why)."""
    try:
        return _bounded(lambda: remote.read(relative, offset, max_bytes), f"reading {relative}")
    except Exception as exc:
        log.warning("Could not read the log %s from %s: %s", relative, remote.url, exc)
        return None


def has_remote_log(remote: RemoteLogFolder, relative: str) -> bool:
    """:meth:`RemoteLogFolder.has_copy`, bounded in time; False when it cannot be read."""
    try:
        return _bounded(lambda: remote.has_copy(relative), f"looking for {relative}")
    except Exception as exc:
        log.warning("Could not look for the log %s in %s: %s", relative, remote.url, exc)
        return False
