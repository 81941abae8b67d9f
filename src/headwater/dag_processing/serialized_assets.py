"""The asset parts of a serialized DAG: its asset condition, and each task's outlets and
inlets (see :mod:`headwater.dag_processing.serialized_dag`).

In the ``dag`` document, ``"asset_condition"`` is ``null`` or the condition's JSON
(``{"asset": {...}}``, ``{"any": [...]}``, ``{"all": [...]}``); each task has ``"outlets"``
and ``"inlets"``, lists of ``{"asset": {...}}`` or ``{"alias": {"name": ...}}``. Documents
stored before assets existed have none of these keys: no assets.
"""

from __future__ import annotations

from collections.abc import Mapping
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
