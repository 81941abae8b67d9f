"""The small JSON document the database keeps for a value stored as a file.

It names the file (``uri``: a local path or a URL), how to read it back (``format``), how
many bytes it holds (``size``, checked on reading, so a truncated or replaced file is an
error rather than a wrong value) and which XCom it is (DAG, run, task, map index, key), so an
error about a mapped task's value names the instance even when the reader asked for all of
them. Example of what ``xcom`` holds::

    {"__headwater__":"xcom_object","format":"parquet","size":2514,
     "uri":"/srv/xcom/etl/manual__1/extract/return_value.3f9c0a1b2d4e.parquet",
     "dag_id":"etl","run_id":"manual__1","task_id":"extract","map_index":-1,
     "key":"return_value"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from headwater.exceptions import XComError

TAG = "__headwater__"
KIND = "xcom_object"
_PREFIX = json.dumps({TAG: KIND}, separators=(",", ":"))[:-1]  # '{"__headwater__":"xcom_object"'

FORMATS: dict[str, str] = {"json": "json", "bytes": "bin", "parquet": "parquet"}
"""Each format the store writes, with the file name extension it gets."""


@dataclass(frozen=True)
class XComLocation:
    """Which XCom a value is: one key of one task instance of one run."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str

    @property
    def label(self) -> str:
        index = f", map index {self.map_index}" if self.map_index >= 0 else ""
        return (
            f"XCom {self.key!r} of task {self.task_id!r}{index} in run {self.run_id!r} "
            f"of DAG {self.dag_id!r}"
        )


@dataclass(frozen=True)
class Reference:
    """Where one XCom's value lies, as recorded in the database."""

    location: XComLocation
    uri: str
    format: str
    size: int

    def dumps(self) -> str:
        document = {
            TAG: KIND,
            "format": self.format,
            "size": self.size,
            "uri": self.uri,
            "dag_id": self.location.dag_id,
            "run_id": self.location.run_id,
            "task_id": self.location.task_id,
            "map_index": self.location.map_index,
            "key": self.location.key,
        }
        return json.dumps(document, separators=(",", ":"))


def is_reference(text: str) -> bool:
    """Whether stored XCom text is a reference rather than a serialized value."""
    return text.startswith(_PREFIX)


def parse_reference(text: str) -> Reference:
    """The reference in ``text``; an error that quotes it when it is damaged."""
    try:
        doc: dict[str, Any] = json.loads(text)
        location = XComLocation(
            str(doc["dag_id"]),
            str(doc["run_id"]),
            str(doc["task_id"]),
            int(doc["map_index"]),
            str(doc["key"]),
        )
        reference = Reference(location, str(doc["uri"]), str(doc["format"]), int(doc["size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise XComError(f"a stored XCom reference is damaged ({exc}): {text:.300}") from None
    if reference.format not in FORMATS:
        raise XComError(
            f"{location.label}: unknown object-store format {reference.format!r} "
            f"(known: {', '.join(FORMATS)}); was it written by a newer headwater?"
        )
    return reference
