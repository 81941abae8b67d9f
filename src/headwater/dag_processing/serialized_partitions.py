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

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


def dump_dag_partitions(dag: DAG) -> dict[str, Any]:
    """``{"partitions": ...}`` for a partitioned DAG; nothing for others, so their documents
    (and hashes) stay as they were."""
    partitions = getattr(dag, "partitions", None)
    return {} if partitions is None else {"partitions": partitions.to_json()}


def load_dag_partitions(dag: DAG, spec: Mapping[str, Any]) -> None:
    dag.partitions = partitions_from_json(spec.get("partitions"))
