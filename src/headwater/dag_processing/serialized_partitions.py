"""The partitions of a serialized DAG (see :mod:`headwater.dag_processing.serialized_dag`).

In the ``dag`` document, ``"partitions"`` is the partitioning's JSON
(``{"time": {"period": "daily", "start": "2024-01-01", "end": null, "timezone": "UTC"}}`` or
``{"static": {"keys": ["eu", "us"]}}``); a partitioned asset's JSON holds its own under
``"partitions"``. A DAG without partitions (and any document stored before they existed)
has no such key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.partitions import partitions_from_json
from headwater.timetables.serialization import require_importable

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


def dump_dag_partitions(dag: DAG) -> dict[str, Any]:
    """``{"partitions": ...}`` for a partitioned DAG; nothing for others, so their documents
    (and hashes) stay as they were. A partition mapper (window, wait policy) of one's own
    must be importable by name by the scheduler, which never imports DAG files: one defined
    in the DAG file is refused, naming it."""
    partitions = getattr(dag, "partitions", None)
    if partitions is None:
        return {}
    data = partitions.to_json()
    for classpath in _classpaths(data):
        module_name, _, qualname = classpath.rpartition(".")
        where = f"partition class {qualname} (module {module_name}) of DAG {dag.dag_id!r}"
        require_importable(module_name, qualname, dag.fileloc, where, "partition_mappers.py")
    return {"partitions": data}


def _classpaths(data: Any) -> list[str]:
    """The ``classpath`` of every object of one's own in a partitioning's JSON."""
    if isinstance(data, Mapping):
        own = [data["classpath"]] if isinstance(data.get("classpath"), str) else []
        return own + [path for value in data.values() for path in _classpaths(value)]
    if isinstance(data, list):
        return [path for value in data for path in _classpaths(value)]
    return []


def load_dag_partitions(dag: DAG, spec: Mapping[str, Any]) -> None:
    dag.partitions = partitions_from_json(spec.get("partitions"))
