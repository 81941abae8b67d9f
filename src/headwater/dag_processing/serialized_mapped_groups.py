"""Mapped task groups in a serialized DAG (see :mod:`headwater.dag_processing.serialized_dag`).

A mapped group's entry in ``task_groups`` gets one more key, ``"expand"``, in the format of
a mapped task's (``{"kind": "dict_of_lists", "arguments": {name: arg}}`` or
``{"kind": "list_of_dicts", "value": ...}``, literals stored by their length only); the
group's tasks have ``"mapped": null``, since their group maps them. Groups that are not
mapped are stored as before, so their DAGs hash the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.mapped_task_group import GroupMappedOperator, map_group_tasks
from headwater.authoring.mapping import (
    DictOfListsExpandInput,
    ExpandInput,
    ListOfDictsExpandInput,
)
from headwater.authoring.xcom_arg import XComArg
from headwater.exceptions import HeadwaterError

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
    return {"expand": _dump_expand(expand_input, group.group_id)}


def load_group_mappings(dag: DAG, spec: Mapping[str, Any]) -> None:
    """Map the groups stored with ``"expand"``, once the DAG's tasks and edges are built."""
    for group_spec in spec["task_groups"]:
        if "expand" not in group_spec:
            continue
        group = dag.task_groups[group_spec["group_id"]]
        owner = f"task group {group.group_id!r}"
        group.expand_input = _load_expand(group_spec["expand"], dag.task_dict.__getitem__, owner)
        map_group_tasks(group)


def _dump_ref(ref: XComArg) -> dict[str, Any]:
    return {"xcom": {"task_id": ref.operator.task_id, "key": ref.key}}


def _dump_expand(expand_input: ExpandInput, group_id: str) -> dict[str, Any]:
    if isinstance(expand_input, DictOfListsExpandInput):
        arguments = {
            name: _dump_ref(v) if isinstance(v, XComArg) else {"length": len(v)}
            for name, v in expand_input.value.items()
        }
        return {"kind": "dict_of_lists", "arguments": arguments}
    if isinstance(expand_input, ListOfDictsExpandInput):
        value = expand_input.value
        if isinstance(value, XComArg):
            return {"kind": "list_of_dicts", "value": _dump_ref(value)}
        items = list(value.items()) if isinstance(value, Mapping) else list(value)
        elements = [
            _dump_ref(item)
            if isinstance(item, XComArg)
            else {"literal": "dict" if isinstance(item, Mapping) else "not_a_dict"}
            for item in items
        ]
        return {"kind": "list_of_dicts", "value": {"elements": elements}}
    raise HeadwaterError(
        f"task group {group_id!r}: cannot serialize an expand input of type "
        f"{type(expand_input).__name__}"
    )


def _load_ref(spec: Mapping[str, Any], get: Callable[[str], BaseOperator]) -> XComArg:
    return XComArg(get(spec["xcom"]["task_id"]), spec["xcom"]["key"])


def _load_expand(
    spec: Mapping[str, Any], get: Callable[[str], BaseOperator], owner: str
) -> ExpandInput:
    if spec["kind"] == "dict_of_lists":
        arguments = {
            name: _load_ref(arg, get) if "xcom" in arg else [None] * arg["length"]
            for name, arg in spec["arguments"].items()
        }
        return DictOfListsExpandInput(arguments, owner)
    if spec["kind"] == "list_of_dicts":
        value = spec["value"]
        if "xcom" in value:
            return ListOfDictsExpandInput(_load_ref(value, get), owner)
        elements: list[Any] = [
            _load_ref(e, get) if "xcom" in e else ({} if e["literal"] == "dict" else None)
            for e in value["elements"]
        ]
        return ListOfDictsExpandInput(elements, owner)
    raise HeadwaterError(f"unknown expand kind {spec['kind']!r}")
