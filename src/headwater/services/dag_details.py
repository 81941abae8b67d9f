"""One stored DAG in full, for the REST API and the web UI: its row, its structure (tasks,
task groups as a tree, edges), its params as a JSON Schema, its docs, and the source of
its file.

The structure is read from the serialized DAG the DAG processor stored
(:mod:`headwater.dag_processing.serialized_dag`), never by importing the file: the server
runs no DAG code. Param defaults and descriptions pass through the secrets masker, a
default under a secret-looking name (``api_key``) is ``***``. Example::

    detail = get_dag_detail(ctx, "etl")
    detail.params_schema["properties"]["region"]["enum"]  # ['eu', 'us']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.masking import redact, redact_text
from headwater.operations.errors import NotFoundError
from headwater.services._schema import Schema
from headwater.services.dag_catalog import RECENT_RUNS, DagListItem, list_item
from headwater.services.schedule_words import stored_schedule_words
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

MAX_SOURCE_BYTES = 1024 * 1024
"""A DAG file longer than this is shown cut, with a note saying so."""


class TaskNode(Schema):
    task_id: str
    label: str
    """As a graph shows it: the task's ``task_display_name``, else its id without its task
    group's prefix."""
    operator: str
    group_id: str | None
    trigger_rule: str
    retries: int
    mapped: bool
    owner: str | None
    doc_md: str | None
    upstream: list[str]
    downstream: list[str]


class TaskGroupNode(Schema):
    group_id: str
    label: str
    tooltip: str | None
    task_ids: list[str]
    """The tasks directly in this group."""
    children: list[TaskGroupNode]
    """The groups directly in this group."""


class Edge(Schema):
    source: str
    """The upstream task."""
    target: str
    """The downstream task."""
    label: str | None = None
    """Edges carry no labels in headwater's authoring API yet: always None."""


class DagDetail(DagListItem):
    """A DAG with its structure."""

    owners: list[str]
    start_date: str | None
    catchup: bool | None
    max_active_runs: int | None
    doc_md: str | None
    params_schema: dict[str, Any]
    """A JSON Schema of the conf a run takes: ``{"type": "object", "properties": {...},
    "required": [...]}``, each property the param's schema with its ``default`` and
    ``description``."""
    tasks: list[TaskNode]
    """In the order the DAG defines them."""
    task_groups: list[TaskGroupNode]
    """The top-level groups, each with its children."""
    edges: list[Edge]


class DagSource(Schema):
    dag_id: str
    file: str
    source: str
    truncated: bool
    """True when the file is longer than 1 MiB and only its start is shown."""


def get_dag_detail(ctx: ServiceContext, dag_id: str) -> DagDetail:
    """The stored DAG ``dag_id`` with its structure; not found when the database lacks it."""
    from headwater.operations import dag_row

    row = dag_row(ctx.store, dag_id)
    failing = {error.filename for error in ctx.store.list_import_errors()}
    latest = ctx.store.latest_dag_runs([dag_id], RECENT_RUNS)[dag_id]
    base = list_item(row, latest, failing).model_dump()
    spec: dict[str, Any] = (row.serialized or {}).get("dag", {})
    tasks = [_task(task) for task in spec.get("tasks", [])]
    base["schedule_words"] = stored_schedule_words(
        row.schedule, spec.get("schedule"), _zone(spec.get("start_date"))
    )
    return DagDetail(
        **base,
        owners=sorted({t.owner for t in tasks if t.owner}),
        start_date=spec.get("start_date"),
        catchup=spec.get("catchup"),
        max_active_runs=spec.get("max_active_runs"),
        doc_md=redact_text(spec["doc_md"]) if spec.get("doc_md") else None,
        params_schema=params_schema(spec.get("params", {})),
        tasks=tasks,
        task_groups=_group_tree(spec.get("task_groups", []), tasks),
        edges=[Edge(source=up, target=t.task_id) for t in tasks for up in t.upstream],
    )


def params_schema(params: dict[str, Any]) -> dict[str, Any]:
    """The serialized params of a DAG as one JSON Schema object, values masked."""
    properties: dict[str, Any] = {}
    required = []
    for name, param in params.items():
        prop = dict(redact(param.get("schema") or {}))
        if param.get("description"):
            prop["description"] = redact_text(param["description"])
        if "default" in param:
            prop["default"] = redact(param["default"], name)
        else:
            required.append(name)
        properties[name] = prop
    return {"type": "object", "properties": properties, "required": required}


def get_dag_source(
    ctx: ServiceContext, dag_id: str, *, max_bytes: int = MAX_SOURCE_BYTES
) -> DagSource:
    """The text of the file that defines ``dag_id`` (registered secrets masked; the first
    ``max_bytes``, 1 MiB, of a longer file); not found when the DAG, or its file, is not
    there. The API's ``/source`` and the UI's code page both show it."""
    from headwater.operations import dag_row

    row = dag_row(ctx.store, dag_id)
    if not row.fileloc:
        raise NotFoundError(f"DAG {quoted(dag_id)} has no DAG file: no file defines it now")
    path = Path(row.fileloc)
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise NotFoundError(
            f"the file of DAG {quoted(dag_id)} cannot be read: {row.fileloc} ({exc.strerror})"
        ) from None
    truncated = len(data) > max_bytes
    text = data[:max_bytes].decode("utf-8", errors="replace")
    return DagSource(dag_id=dag_id, file=row.fileloc, source=redact_text(text), truncated=truncated)


def _zone(start_date: str | None) -> str:
    """The zone a DAG's cron is read in (its start date's), as its serialization names it:
    a zone name kept in brackets, else the UTC offset."""
    if not start_date:
        return "UTC"
    text, _, name = start_date.partition("[")
    if name:
        return name.rstrip("]")
    try:
        offset = datetime.fromisoformat(text).utcoffset()
    except ValueError:
        return "UTC"
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _task(task: dict[str, Any]) -> TaskNode:
    group = task.get("task_group")
    task_id = task["task_id"]
    label = task_id[len(group) + 1 :] if group and task_id.startswith(f"{group}.") else task_id
    label = str(task.get("task_display_name") or label)
    return TaskNode(
        task_id=task_id,
        label=label,
        operator=task.get("operator", ""),
        group_id=group,
        trigger_rule=task.get("trigger_rule", "all_success"),
        retries=task.get("retries", 0),
        mapped=task.get("mapped") is not None,
        owner=task.get("owner"),
        doc_md=redact_text(task["doc_md"]) if task.get("doc_md") else None,
        upstream=list(task.get("upstream_task_ids", [])),
        downstream=list(task.get("downstream_task_ids", [])),
    )


def _group_tree(groups: list[dict[str, Any]], tasks: list[TaskNode]) -> list[TaskGroupNode]:
    children: dict[str | None, list[dict[str, Any]]] = {}
    for group in groups:
        if group.get("group_id") is None:  # the DAG's root group, if stored
            continue
        children.setdefault(group.get("parent_group_id"), []).append(group)

    def build(group: dict[str, Any]) -> TaskGroupNode:
        group_id = group["group_id"]
        parent = group.get("parent_group_id")
        label = (
            group_id[len(parent) + 1 :]
            if parent and group_id.startswith(f"{parent}.")
            else group_id
        )
        return TaskGroupNode(
            group_id=group_id,
            label=label,
            tooltip=group.get("tooltip") or None,
            task_ids=[t.task_id for t in tasks if t.group_id == group_id],
            children=[build(child) for child in children.get(group_id, [])],
        )

    return [build(group) for group in children.get(None, [])]
