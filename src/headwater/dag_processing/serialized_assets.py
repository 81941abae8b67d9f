"""The asset parts of a serialized DAG: its asset condition, and each task's outlets and
inlets (see :mod:`headwater.dag_processing.serialized_dag`).

In the ``dag`` document, ``"asset_condition"`` is ``null`` or the condition's JSON
(``{"asset": {...}}``, ``{"any": [...]}``, ``{"all": [...]}``); each task has ``"outlets"``
and ``"inlets"``, lists of ``{"asset": {...}}`` or ``{"alias": {"name": ...}}``. Documents
stored before assets existed have none of these keys: no assets.

An asset with watchers has ``"watchers"``: ``[{"name": ..., "trigger": {"classpath": ...,
"kwargs": {...}}}]`` (absent when it has none). The triggerer reads them straight from the
stored document (:func:`schedule_watchers`), without rebuilding the DAG.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater.authoring.assets import condition_from_json, reference_from_json
from headwater.dag_processing.serialized_partitions import (
    dump_dag_partitions,
    load_dag_partitions,
)

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator


def dump_dag_assets(dag: DAG) -> dict[str, Any]:
    condition = getattr(dag, "asset_condition", None)
    return {
        "asset_condition": None if condition is None else condition.to_json(),
        **dump_dag_partitions(dag),
    }


def dump_task_assets(task: BaseOperator) -> dict[str, Any]:
    return {
        "outlets": [o.to_json() for o in task.outlets],
        "inlets": [i.to_json() for i in task.inlets],
    }


def load_dag_assets(dag: DAG, spec: Mapping[str, Any]) -> None:
    condition = spec.get("asset_condition")
    dag.asset_condition = None if condition is None else condition_from_json(condition)
    load_dag_partitions(dag, spec)


def load_task_assets(task: BaseOperator, spec: Mapping[str, Any]) -> None:
    task.outlets = [reference_from_json(o) for o in spec.get("outlets") or []]
    task.inlets = [reference_from_json(i) for i in spec.get("inlets") or []]


@dataclass(frozen=True)
class StoredWatcher:
    """A watcher of asset ``uri``, as a serialized DAG's schedule stores it."""

    uri: str
    name: str
    classpath: str
    kwargs: dict[str, Any]


def schedule_watchers(serialized: Mapping[str, Any] | None) -> list[StoredWatcher]:
    """The watchers of the assets a serialized DAG is scheduled on (its asset condition),
    in the condition's order; none for a document without assets or watchers."""
    spec = serialized.get("dag") if isinstance(serialized, Mapping) else None
    condition = spec.get("asset_condition") if isinstance(spec, Mapping) else None
    return list(_watchers_in(condition))


def _watchers_in(node: Any) -> Iterator[StoredWatcher]:
    if not isinstance(node, Mapping) or len(node) != 1:
        return
    ((kind, value),) = node.items()
    if kind in ("any", "all") and isinstance(value, list):
        for part in value:
            yield from _watchers_in(part)
    elif kind == "asset" and isinstance(value, Mapping):
        for data in value.get("watchers") or []:
            trigger = data.get("trigger") if isinstance(data, Mapping) else None
            if isinstance(trigger, Mapping):
                yield StoredWatcher(
                    value["uri"], data["name"], trigger["classpath"], dict(trigger["kwargs"])
                )
