"""How a task's ``priority_weight`` becomes the weight its instances are ordered by: its
``weight_rule``, as Airflow's.

* ``absolute`` (headwater's default): the task's own ``priority_weight``;
* ``downstream`` (Airflow's default, and so the default in Airflow DAG files): its own plus
  that of every task downstream of it, each counted once, so the work that unblocks the most
  goes first;
* ``upstream``: its own plus that of every task upstream of it, so runs that are further
  along finish first.

The sum is clamped to 32 bits, as Airflow clamps it. Airflow's custom priority weight
strategies (a ``PriorityWeightStrategy`` class) are refused, naming the task.

Example::

    EmptyOperator(task_id="extract", priority_weight=2, weight_rule="downstream")
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator

__all__ = ["WeightRule", "check_weight_rule", "effective_weight", "effective_weights"]

_LOWEST, _HIGHEST = -(2**31), 2**31 - 1


class WeightRule(StrEnum):
    """Which tasks' weights a task's instances add to their own."""

    ABSOLUTE = "absolute"
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"


def check_weight_rule(value: Any, task_id: str) -> WeightRule:
    """``value`` as a :class:`WeightRule`; a :class:`DagDefinitionError` naming the task
    otherwise."""
    try:
        return WeightRule(value)
    except ValueError:
        pass
    allowed = ", ".join(repr(rule.value) for rule in WeightRule)
    if isinstance(value, str) and "." not in value:
        raise DagDefinitionError(f"task {task_id!r}: weight_rule {value!r} is not one of {allowed}")
    raise DagDefinitionError(
        f"task {task_id!r}: weight_rule {value!r:.100} is a custom priority weight strategy, "
        f"which headwater does not support; use one of {allowed}"
    )


def effective_weight(task: BaseOperator) -> int:
    """The weight ``task``'s instances are ordered by (its ``weight_rule`` applied)."""
    rule = getattr(task, "weight_rule", WeightRule.ABSOLUTE)
    if rule is WeightRule.ABSOLUTE or task.dag is None:
        return task.priority_weight
    relatives = task.get_flat_relatives(upstream=rule is WeightRule.UPSTREAM)
    total = task.priority_weight + sum(relative.priority_weight for relative in relatives)
    return min(max(total, _LOWEST), _HIGHEST)


def effective_weights(dag: DAG) -> dict[str, int]:
    """:func:`effective_weight` of every task of ``dag``, by task id."""
    return {task_id: effective_weight(task) for task_id, task in dag.task_dict.items()}
