"""The object-store XCom backend: large or non-JSON values as files, references in the database.

What goes to a file, each a new one
(``<root>/<dag>/<run>/<task>[/<map index>]/<key>.<token>.<ext>``):

* ``bytes`` (and ``bytearray``, ``memoryview``): the raw bytes (``.bin``), read back as bytes;
* a pandas ``DataFrame``: Parquet (``.parquet``, needs pyarrow), read back as a DataFrame;
* any other value whose serialized text is over the threshold: that text (``.json``).

Smaller values stay in the database as before. A file is complete (temporary name, then
renamed) before its reference is returned, and so before anyone can record it. Files are
never overwritten: each write gets a new name, so a reference always reads the bytes it was
recorded with, even while an attempt taken for lost still writes. Files go when their task
instance is cleared, and when their run (or DAG) is deleted (see the package's
``delete_*_objects``). Reading a reference needs no settings: it names its file, so values
stay readable after the setting changes.
"""

from __future__ import annotations

import io
import sys
import uuid
from typing import TYPE_CHECKING, Any

from headwater.exceptions import XComError
from headwater.xcom_objects.files import ObjectFiles, files_for, path_part
from headwater.xcom_objects.references import (
    FORMATS,
    Reference,
    XComLocation,
    is_reference,
    parse_reference,
)

if TYPE_CHECKING:
    from headwater.xcom_serializers import Serializer


def _is_dataframe(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame exists only once pandas is imported
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _to_parquet(value: Any, location: XComLocation) -> bytes:
    buffer = io.BytesIO()
    try:
        value.to_parquet(buffer)
    except ImportError as exc:
        raise XComError(
            f"{location.label}: a DataFrame is stored as Parquet, which needs pyarrow "
            f"(pip install 'headwater[pandas]'): {exc}"
        ) from None
    except (ValueError, TypeError) as exc:  # e.g. column names that are not strings
        raise XComError(
            f"{location.label}: the DataFrame cannot be written as Parquet: {exc}"
        ) from None
    return buffer.getvalue()


class XComObjectStore:
    """Turns a pushed value into the text the database keeps, writing a file when needed.

    Example::

        objects = XComObjectStore("/srv/xcom", threshold_bytes=65536, serializer=JsonSerializer())
        text = objects.encode(XComLocation("etl", "manual__1", "extract", -1, "return_value"), df)
        objects.decode(text)  # the DataFrame, read back from its Parquet file
    """

    def __init__(self, root: str, *, threshold_bytes: int, serializer: Serializer) -> None:
        self.root = root
        self.threshold_bytes = threshold_bytes
        self.serializer = serializer
        self.files: ObjectFiles = files_for(root)

    def instance_folder(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        """``<root>/<dag>/<run>/<task>``, plus ``/<map index>`` for a mapped instance."""
        parts = [path_part(dag_id), path_part(run_id), path_part(task_id)]
        if map_index >= 0:
            parts.append(str(map_index))
        return self.files.join(self.root, *parts)

    def path_of(self, location: XComLocation, file_format: str) -> str:
        """A new file name for one value of ``location``: unique, so that a write never
        replaces a file some recorded reference names (an attempt taken for lost may still
        be writing while its successor runs)."""
        folder = self.instance_folder(
            location.dag_id, location.run_id, location.task_id, location.map_index
        )
        name = f"{path_part(location.key)}.{uuid.uuid4().hex[:12]}.{FORMATS[file_format]}"
        return self.files.join(folder, name)

    def encode(self, location: XComLocation, value: Any) -> str:
        """The text to store for ``value``: itself serialized, or a reference to its file."""
        if isinstance(value, bytes | bytearray | memoryview):
            return self._write(location, "bytes", bytes(value))
        if _is_dataframe(value):
            return self._write(location, "parquet", _to_parquet(value, location))
        text = self.serializer.dumps(value)
        data = text.encode()
        if len(data) > self.threshold_bytes:
            return self._write(location, "json", data)
        return text

    def _write(self, location: XComLocation, file_format: str, data: bytes) -> str:
        path = self.path_of(location, file_format)
        try:
            self.files.write(path, data)
        except OSError as exc:
            raise XComError(f"{location.label}: cannot write its value to {path}: {exc}") from exc
        return Reference(location, path, file_format, len(data)).dumps()

    def instance_files(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[str]:
        """The files one task instance's XComs were written to (its current values and those
        its earlier tries left)."""
        return self.files.list_files(self.instance_folder(dag_id, run_id, task_id, map_index))

    def remove_files(self, paths: list[str]) -> None:
        for path in paths:
            self.files.remove(path)

    def delete_run(self, dag_id: str, run_id: str) -> None:
        """Delete the files of every XCom of one run."""
        self.files.remove_tree(self.files.join(self.root, path_part(dag_id), path_part(run_id)))

    def delete_dag(self, dag_id: str) -> None:
        """Delete the files of every XCom of every run of one DAG."""
        self.files.remove_tree(self.files.join(self.root, path_part(dag_id)))


def load_value(text: str, serializer: Serializer) -> Any:
    """The value stored as ``text``: deserialized, or read from the file a reference names."""
    if not is_reference(text):
        return serializer.loads(text)
    reference = parse_reference(text)
    location = reference.location
    try:
        data = files_for(reference.uri).read(reference.uri)
    except FileNotFoundError:
        raise XComError(
            f"{location.label}: its value file {reference.uri} is missing (deleted, or the "
            "object store is not shared with this machine)"
        ) from None
    except OSError as exc:
        raise XComError(f"{location.label}: cannot read {reference.uri}: {exc}") from None
    if len(data) != reference.size:
        raise XComError(
            f"{location.label}: its value file {reference.uri} holds {len(data)} bytes, not the "
            f"{reference.size} recorded: it was changed or cut short after it was written"
        )
    if reference.format == "bytes":
        return data
    if reference.format == "parquet":
        return _read_parquet(data, reference)
    return serializer.loads(data.decode())


def _read_parquet(data: bytes, reference: Reference) -> Any:
    try:
        import pandas
    except ImportError:
        raise XComError(
            f"{reference.location.label}: it is a DataFrame ({reference.uri}), which needs "
            "pandas and pyarrow to read (pip install 'headwater[pandas]')"
        ) from None
    try:
        return pandas.read_parquet(io.BytesIO(data))
    except (ImportError, ValueError, OSError) as exc:
        raise XComError(
            f"{reference.location.label}: cannot read the Parquet file {reference.uri}: {exc}"
        ) from None
