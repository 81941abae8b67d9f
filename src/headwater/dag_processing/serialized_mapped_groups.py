"""Mapped task groups in a serialized DAG (see :mod:`headwater.dag_processing.serialized_dag`).

A mapped group's entry in ``task_groups`` gets one more key, ``"expand"``, in the format of
a mapped task's (``{"kind": "dict_of_lists", "arguments": {name: arg}}`` or
``{"kind": "list_of_dicts", "value": ...}``, literals stored by their length only); the
group's tasks have ``"mapped": null``, since their group maps them. Groups that are not
mapped are stored as before, so their DAGs hash the same. The format's one reader and
writer are :mod:`headwater.dag_processing.serialized_mapped_tasks`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.mapped_task_group import GroupMappedOperator, map_group_tasks
from headwater.dag_processing.serialized_mapped_tasks import dump_expand_input, load_expand_input

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.authoring.task_group import TaskGroup


def mapped_by_group(task: BaseOperator) -> bool:
    """Whether ``task`` is mapped by its task group (stored with ``"mapped": null``)."""
    return isinstance(task, GroupMappedOperator)


def dump_group_mapping(group: TaskGroup) -> dict[str, Any]:
    """``{"expand": ...}`` for a mapped group; nothing for the others."""
    expand_input = group.expand_input
    if expand_input is None:
        return {}
    return {"expand": dump_expand_input(expand_input, f"task group {group.group_id!r}")}


def load_group_mappings(dag: DAG, spec: Mapping[str, Any]) -> None:
    """Map the groups stored with ``"expand"``, once the DAG's tasks and edges are built."""
    for group_spec in spec["task_groups"]:
        if "expand" not in group_spec:
            continue
        group = dag.task_groups[group_spec["group_id"]]
        owner = f"task group {group.group_id!r}"
        group.expand_input = load_expand_input(
            group_spec["expand"], dag.task_dict.__getitem__, owner
        )
        map_group_tasks(group)
