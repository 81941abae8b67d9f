"""The control-flow parts of a serialized DAG: setup/teardown flags and edge labels.

Kept apart from :mod:`headwater.dag_processing.serialized_dag` and written only when set,
so a DAG without them serializes (and hashes) exactly as before they existed, and older
stored DAGs load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator

_FLAGS = ("is_setup", "is_teardown", "on_failure_fail_dagrun")


def dump_setup_teardown(task: BaseOperator) -> dict[str, bool]:
    """``{"is_setup": True}`` and the like for the flags that are set; ``{}`` otherwise."""
    return {name: True for name in _FLAGS if getattr(task, name)}


def load_setup_teardown(task: BaseOperator, spec: Mapping[str, Any]) -> None:
    """Set the flags :func:`dump_setup_teardown` stored (the trigger rule is stored apart)."""
    for name in _FLAGS:
        if spec.get(name):
            setattr(task, name, True)
    if task.is_teardown and task.trigger_rule is not TriggerRule.ALL_DONE_SETUP_SUCCESS:
        raise ValueError(
            f"teardown task {task.task_id!r} is stored with trigger_rule "
            f"{task.trigger_rule.value!r}, not 'all_done_setup_success'"
        )


def dump_edge_info(dag: DAG) -> dict[str, Any]:
    """``{"edge_info": {...}}`` when some edge has a label, else ``{}``."""
    info = {
        up: {down: {"label": edge["label"]} for down, edge in downs.items() if edge.get("label")}
        for up, downs in dag.edge_info.items()
    }
    info = {up: downs for up, downs in info.items() if downs}
    return {"edge_info": info} if info else {}


def load_edge_info(dag: DAG, spec: Mapping[str, Any]) -> None:
    """Put back the labels :func:`dump_edge_info` stored, on edges that exist."""
    for up, downs in (spec.get("edge_info") or {}).items():
        for down, edge in downs.items():
            if up not in dag.task_dict or down not in dag.task_dict[up].downstream_task_ids:
                raise ValueError(f"edge {up!r} -> {down!r} has a label but is not an edge")
            dag.set_edge_info(up, down, {"label": edge.get("label")})
