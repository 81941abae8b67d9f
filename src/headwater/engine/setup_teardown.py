"""What the engine does for setup and teardown tasks (see
:mod:`headwater.authoring.setup_teardown` for the rules).

* :func:`upstream_counts`: a task's upstream counts, with those of its upstream setups, which
  the teardowns' ``all_done_setup_success`` rule reads.
* :func:`setup_constraint`: a work task in a setup's scope that is not directly downstream of
  it still waits for it, and does not run if it failed or was skipped (Airflow's
  ``TriggerRuleDep`` setup constraint).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from headwater.engine.states import TaskInstanceState as S
from headwater.engine.trigger_rules import Decision, UpstreamCounts

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator


def upstream_counts(counts: Mapping[str, Counter[S]], task: BaseOperator) -> UpstreamCounts:
    """The states of ``task``'s upstream instances, counted (setups' counted apart too)."""
    total = Counter[S]()
    setups = Counter[S]()
    dag = task.dag
    for up in task.upstream_task_ids:
        total.update(counts[up])
        if dag is not None and dag.task_dict[up].is_setup:
            setups.update(counts[up])
    plain = UpstreamCounts.of(total)
    if not setups:
        return plain
    return UpstreamCounts(
        plain.total,
        plain.success,
        plain.skipped,
        plain.failed,
        plain.upstream_failed,
        plain.done,
        setups=sum(setups.values()) - setups.get(S.REMOVED, 0),
        setup_success=setups.get(S.SUCCESS, 0),
        setup_skipped=setups.get(S.SKIPPED, 0),
    )


def setup_constraint(counts: Mapping[str, Counter[S]], setup_ids: Iterable[str]) -> Decision | None:
    """What the indirect setups ``setup_ids`` of a task impose: UPSTREAM_FAILED if one
    failed, SKIP if one was skipped, WAIT until all succeeded; None once they all did."""
    states = Counter[S]()
    for setup_id in setup_ids:
        states.update(counts[setup_id])
    if not states:
        return None
    if states[S.FAILED] or states[S.UPSTREAM_FAILED]:
        return Decision.UPSTREAM_FAILED
    if states[S.SKIPPED]:
        return Decision.SKIP
    if states[S.SUCCESS] + states[S.REMOVED] < sum(states.values()):
        return Decision.WAIT
    return None
