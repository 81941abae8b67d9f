"""Where object-store XCom files live: a local folder, or any fsspec URL.

Every write is whole or absent: the bytes go to a temporary name next to the target and are
renamed onto it only once complete, so a reader never sees half a file and a reference is
recorded only after its file is in place. Local folders and files are owner-only, like the
metadata database (which holds the same kind of values). A URL (``s3://bucket/prefix``,
``memory://x``) goes through fsspec, imported only when one is used.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import Any, Protocol
from urllib.parse import quote

from headwater.exceptions import XComError
from headwater.private_files import PRIVATE_FILE_MODE, make_private_folders


class ObjectFiles(Protocol):
    """The few file operations the object store needs, on one kind of location."""

    def join(self, root: str, *parts: str) -> str: ...

    def write(self, path: str, data: bytes) -> None: ...

    def read(self, path: str) -> bytes: ...

    def remove(self, path: str) -> None: ...

    def remove_tree(self, path: str) -> None: ...

    def list_files(self, folder: str) -> list[str]: ...


def path_part(name: str) -> str:
    """``name`` as one path part: percent-quoted, so a ``/`` or ``..`` in an XCom key (which
    tasks choose freely) can never reach outside its run's folder."""
    part = quote(name, safe="-_.=+:@,")
    return part.replace(".", "%2E") if part in ("", ".", "..") else part


def is_url(location: str) -> bool:
    return "://" in location


class LocalFiles:
    """Files in a local folder, written to a temporary name and renamed (``os.replace``)."""

    def join(self, root: str, *parts: str) -> str:
        return os.path.join(root, *parts)

    def write(self, path: str, data: bytes) -> None:
        make_private_folders(os.path.dirname(path))
        temporary = os.path.join(
            os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp"
        )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        fd = os.open(temporary, flags, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def remove_tree(self, path: str) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path)

    def list_files(self, folder: str) -> list[str]:
        """The files directly in ``folder`` (none when it does not exist)."""
        try:
            with os.scandir(folder) as entries:
                return sorted(e.path for e in entries if e.is_file(follow_symlinks=False))
        except FileNotFoundError:
            return []


class FsspecFiles:
    """Files behind an fsspec URL; the protocol's own file system does the work."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError:
            raise XComError(
                f"the XCom object store {url!r} is a URL, which needs fsspec "
                "(pip install fsspec, plus the driver of its protocol, e.g. s3fs); "
                "or set xcom.object_store_path to a local folder"
            ) from None
        try:
            self.fs: Any = fsspec.core.url_to_fs(url)[0]
        except (ImportError, ValueError) as exc:
            raise XComError(f"the XCom object store {url!r} cannot be opened: {exc}") from None

    def join(self, root: str, *parts: str) -> str:
        return "/".join([root.rstrip("/"), *parts])

    def write(self, path: str, data: bytes) -> None:
        parent, _, name = path.rpartition("/")
        temporary = f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"
        self.fs.makedirs(parent, exist_ok=True)
        try:
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, path)
        except BaseException:
            if self.fs.exists(temporary):
                self.fs.rm_file(temporary)
            raise

    def read(self, path: str) -> bytes:
        data: bytes = self.fs.cat_file(path)
        return data

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm_file(path)

    def remove_tree(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def list_files(self, folder: str) -> list[str]:
        if not self.fs.isdir(folder):
            return []
        entries = self.fs.ls(folder, detail=True)
        # Paths as this file system names them (without the protocol): what remove() takes.
        return sorted(e["name"] for e in entries if e.get("type") == "file")


def files_for(location: str) -> ObjectFiles:
    """The file operations for ``location``: fsspec for a URL, plain files otherwise."""
    return FsspecFiles(location) if is_url(location) else LocalFiles()
