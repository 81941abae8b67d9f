"""Mapped tasks in a serialized DAG (see :mod:`headwater.dag_processing.serialized_dag`):
a mapped task's ``"mapped"`` is ``{"mapped_field", "expand"}``; an unmapped task's is null.

``expand`` is ``{"kind": "dict_of_lists", "arguments": {name: arg}}`` or
``{"kind": "list_of_dicts", "value": arg}``; an ``arg`` is ``{"xcom": {"task_id", "key"}}``
(another task's output) or ``{"length": n}`` (a literal). A literal ``expand_kwargs`` list
is ``{"elements": [{"xcom": ...} | {"literal": "dict" | "not_a_dict"}]}``. Literal values
are not stored: the engine only counts them, and workers take them from the DAG file.
A rebuilt literal is ``[None] * n`` (``{}`` for a dict element), so expansion gives the
same number of instances and an upstream value that is not a list or dict fails the task
with the same message. (A literal ``expand_kwargs`` element that is not a dict fails as
before, but the message names ``NoneType`` rather than its real type.) References in
``partial()`` arguments are kept as dependencies only: the engine never reads the values.

Tasks mapped by their task group are stored with their group
(:mod:`headwater.dag_processing.serialized_mapped_groups`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from headwater.authoring.mapping import (
    DictOfListsExpandInput,
    ExpandInput,
    ListOfDictsExpandInput,
    MappedOperator,
    OperatorPartial,
)
from headwater.authoring.operator import BaseOperator
from headwater.authoring.xcom_arg import XComArg
from headwater.dag_processing.serialized_errors import SerializedDagError

__all__ = ["dump_expand_input", "dump_mapping", "load_expand", "load_expand_input"]


def _dump_ref(ref: XComArg) -> dict[str, Any]:
    return {"xcom": {"task_id": ref.operator.task_id, "key": ref.key}}


def _dump_arg(value: Any) -> dict[str, Any]:
    """An expand argument: a reference to an upstream output, or a literal's length."""
    return _dump_ref(value) if isinstance(value, XComArg) else {"length": len(value)}


def dump_mapping(task: MappedOperator) -> dict[str, Any]:
    """A mapped task's ``"mapped"``: ``{"mapped_field", "expand"}``."""
    expand = dump_expand_input(task.expand_input, f"task {task.task_id!r}")
    return {"mapped_field": task.mapped_field, "expand": expand}


def dump_expand_input(expand_input: ExpandInput, owner: str) -> dict[str, Any]:
    """The stored ``expand`` of a mapped task's or task group's input (``owner`` names it in
    the error for an input of another kind)."""
    if isinstance(expand_input, DictOfListsExpandInput):
        arguments = {name: _dump_arg(v) for name, v in expand_input.value.items()}
        return {"kind": "dict_of_lists", "arguments": arguments}
    if isinstance(expand_input, ListOfDictsExpandInput):
        value = expand_input.value
        if isinstance(value, XComArg):
            return {"kind": "list_of_dicts", "value": _dump_ref(value)}
        # Like ListOfDictsExpandInput.resolve: a dict maps over its (key, value) items.
        items = list(value.items()) if isinstance(value, Mapping) else list(value)
        elements = [
            _dump_ref(item)
            if isinstance(item, XComArg)
            else {"literal": "dict" if isinstance(item, Mapping) else "not_a_dict"}
            for item in items
        ]
        return {"kind": "list_of_dicts", "value": {"elements": elements}}
    raise SerializedDagError(
        f"{owner}: cannot serialize an expand input of type {type(expand_input).__name__}"
    )


def _load_ref(spec: Mapping[str, Any], get: Callable[[str], BaseOperator]) -> XComArg:
    ref = spec["xcom"]
    return XComArg(get(ref["task_id"]), ref["key"])


def _load_arg(spec: Mapping[str, Any], get: Callable[[str], BaseOperator]) -> Any:
    return _load_ref(spec, get) if "xcom" in spec else [None] * spec["length"]


def load_expand(
    partial: OperatorPartial, spec: Mapping[str, Any], get: Callable[[str], BaseOperator]
) -> MappedOperator:
    """The mapped task ``partial`` expands to by the stored ``expand``; ``get`` returns the
    task of an id (built first if need be)."""
    return MappedOperator(partial, load_expand_input(spec, get, partial.kwargs["task_id"]))


def load_expand_input(
    spec: Mapping[str, Any], get: Callable[[str], BaseOperator], owner: str
) -> ExpandInput:
    """The input a stored ``expand`` describes (``owner``: what the input's errors name)."""
    if spec["kind"] == "dict_of_lists":
        arguments = {name: _load_arg(arg, get) for name, arg in spec["arguments"].items()}
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
    raise SerializedDagError(f"unknown expand kind {spec['kind']!r}")
