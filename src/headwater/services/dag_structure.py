"""What the views of a DAG share: its stored structure, its task groups as a tree, and one
state standing for many (a mapped task's instances, a group's tasks).

The views read the DAG as the DAG processor last stored it (not its file), so they work on
any machine that reaches the database, and still show the history of a DAG whose file went
away (as long as its structure is stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.db.rows import DagRow
    from headwater.services.context import ServiceContext

STATE_PRECEDENCE = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "running",
    "restarting",
    "deferred",
    "queued",
    "scheduled",
    "none",
    "success",
    "skipped",
    "removed",
)
"""The state several instances show as one: the first of these that any of them is in, so a
failure is never hidden by successes, and work still to do by work done."""

_RANK = {state: i for i, state in enumerate(STATE_PRECEDENCE)}


def aggregate_state(states: Iterable[str]) -> str | None:
    """The one state standing for ``states`` (see :data:`STATE_PRECEDENCE`); None for none."""
    return min(states, key=lambda s: _RANK.get(s, len(_RANK)), default=None)


@dataclass(frozen=True)
class GroupInfo:
    """A task group: its full id, the label shown (its id within its parent), its parent's
    id (None at the top) and its tooltip."""

    group_id: str
    label: str
    parent: str | None
    tooltip: str


def load_structure(ctx: ServiceContext, dag_id: str) -> tuple[DagRow, DAG]:
    """The stored row and rebuilt structure of ``dag_id``: not found for a DAG the database
    lacks; conflict for one stored without its structure (none of its files was parsed)."""
    from headwater.dag_processing.serialized_dag import deserialize_dag
    from headwater.operations import dag_row
    from headwater.operations.errors import ConflictError

    row = dag_row(ctx.store, dag_id)
    if row.serialized is None:
        raise ConflictError(f"DAG {quoted(dag_id)} has no stored structure to show")
    return row, deserialize_dag(row.serialized)


def groups_of(dag: DAG) -> dict[str, GroupInfo]:
    """Every task group of ``dag`` by full id, parents before their children."""
    groups: dict[str, GroupInfo] = {}
    for group in dag.task_groups.values():
        parent = group.parent_group
        parent_id = parent.group_id if parent is not None else None
        label = group.group_id
        if parent_id is not None and label.startswith(parent_id + "."):
            label = label[len(parent_id) + 1 :]
        groups[group.group_id] = GroupInfo(group.group_id, label, parent_id, group.tooltip or "")
    return groups


def group_chain(task: BaseOperator) -> list[str]:
    """The ids of the groups ``task`` is in, outermost first (empty at the top level)."""
    chain = []
    group = task.task_group
    while group is not None:
        if group.group_id:
            chain.append(group.group_id)
        group = group.parent_group
    return chain[::-1]


def task_label(task: BaseOperator) -> str:
    """The name shown for ``task``: its ``task_display_name`` when it sets one, else its id
    without its group's prefix."""
    shown = getattr(task, "task_display_name", task.task_id)
    if shown != task.task_id:
        return str(shown)
    group = task.task_group
    if group is not None and group.group_id and task.task_id.startswith(group.group_id + "."):
        return task.task_id[len(group.group_id) + 1 :]
    return task.task_id
