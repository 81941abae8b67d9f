"""Setup and teardown tasks: resources made before the work and removed after it, whatever
happens to the work (Airflow's setup/teardown, 2.7+).

A task becomes a setup with ``op.as_setup()`` (or ``@setup``) and a teardown with
``op.as_teardown(setups=...)`` (or ``@teardown``). Their rules, as Airflow's:

* A teardown's trigger rule is ``all_done_setup_success``: it runs once every upstream task
  is done, if at least one of its upstream setups succeeded (it is skipped when they were all
  skipped, ``upstream_failed`` when none succeeded) -- so it runs when the work fails.
* A work task between a setup and its teardown (its *scope*) waits for the setup even when
  the setup is not its direct upstream, and does not run if the setup failed or was skipped.
* The run's final state ignores teardowns: its leaves are found as if they were not there,
  unless a teardown says ``on_failure_fail_dagrun=True``.
* Clearing a work task also clears the setups of its scope and their teardowns.
* ``with setup_task >> teardown_task:`` puts the tasks made in the block between them.

This module holds the authoring side (marking, the ``with`` block, checks) and the graph
queries that the engine and clearing share (:func:`relevant_setups_and_teardowns`,
:func:`effective_leaves`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from headwater.authoring.trigger_rule import TriggerRule
from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator


def mark_setup(task: BaseOperator) -> None:
    """Make ``task`` a setup task (``task.as_setup()``)."""
    if task.is_teardown:
        raise DagDefinitionError(
            f"task {task.task_id!r} is a teardown task; it cannot also be a setup task"
        )
    task.is_setup = True


def mark_teardown(
    task: BaseOperator, setups: Any = None, on_failure_fail_dagrun: bool | None = None
) -> None:
    """Make ``task`` a teardown task of ``setups`` (a task, reference, or list of them;
    each becomes a setup and upstream of ``task``): ``task.as_teardown(...)``."""
    from headwater.authoring.dependencies import _as_list

    if task.is_setup:
        raise DagDefinitionError(
            f"task {task.task_id!r} is a setup task; it cannot also be a teardown task"
        )
    if on_failure_fail_dagrun is not None:
        if not isinstance(on_failure_fail_dagrun, bool):
            raise DagDefinitionError(
                f"task {task.task_id!r}: on_failure_fail_dagrun must be True or False, "
                f"got {on_failure_fail_dagrun!r}"
            )
        task.on_failure_fail_dagrun = on_failure_fail_dagrun
    task.is_teardown = True
    task.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
    if setups is None:
        return
    for item in _as_list(setups):
        for setup in item._upstream_endpoints():
            mark_setup(setup)
            setup.set_downstream(task)


def validate_setup_teardown(dag: DAG) -> None:
    """Refuse what Airflow refuses: a setup's direct downstream work task with a trigger rule
    other than ``all_success`` (clearing a task in its scope could not be made consistent)."""
    for task in dag.task_dict.values():
        if not task.is_setup:
            continue
        for down_id in task.downstream_task_ids:
            down = dag.task_dict[down_id]
            if down.is_teardown or down.trigger_rule is TriggerRule.ALL_SUCCESS:
                continue
            raise DagDefinitionError(
                f"DAG {dag.dag_id!r}: task {down_id!r} follows setup task {task.task_id!r} "
                f"with trigger_rule {down.trigger_rule.value!r}; a task right after a setup "
                "must use 'all_success'"
            )


# -- graph queries ------------------------------------------------------------------------------


def teardowns_of(setup: BaseOperator) -> list[BaseOperator]:
    """The teardown tasks directly downstream of ``setup``."""
    return [t for t in setup.downstream_list if t.is_teardown]


def relevant_setups_and_teardowns(task: BaseOperator) -> list[BaseOperator]:
    """The setups whose scope ``task`` is in, and their teardowns (``task`` left out).

    A setup upstream of ``task`` (however far) is relevant if it has no teardown, or one of
    its teardowns is downstream of ``task``: what clearing ``task`` clears with it, and what
    ``task`` waits for (Airflow's ``get_upstreams_only_setups_and_teardowns``).
    """
    below = {t.task_id for t in task.get_flat_relatives() if t.is_teardown}
    found: dict[str, BaseOperator] = {}
    for up in task.get_flat_relatives(upstream=True):
        if not up.is_setup:
            continue
        teardowns = teardowns_of(up)
        if not teardowns or any(t.task_id in below for t in teardowns):
            found[up.task_id] = up
            for teardown in teardowns:
                if teardown is not task:
                    found[teardown.task_id] = teardown
    return list(found.values())


def setups_and_teardowns_to_clear(dag: DAG, task_ids: Iterable[str]) -> set[str]:
    """What clearing ``task_ids`` clears with them, as Airflow: for each work task, the
    setups of its scope and their teardowns; for each setup, its teardowns."""
    found: set[str] = set()
    for task_id in task_ids:
        task = dag.task_dict[task_id]
        if task.is_setup:
            found.update(t.task_id for t in teardowns_of(task))
        elif not task.is_teardown:
            found.update(t.task_id for t in relevant_setups_and_teardowns(task))
    return found


def indirect_setups(dag: DAG) -> dict[str, tuple[str, ...]]:
    """For each task that is not a teardown, the relevant setups (see
    :func:`relevant_setups_and_teardowns`) that are not its direct upstream tasks; only tasks
    that have some are listed. Empty, at no cost, for a DAG without setups."""
    tasks = dag.task_dict.values()
    if not any(t.is_setup for t in tasks):
        return {}
    found: dict[str, tuple[str, ...]] = {}
    for task in tasks:
        if task.is_teardown or (task.is_setup and not task.upstream_task_ids):
            continue
        setups = tuple(
            t.task_id
            for t in relevant_setups_and_teardowns(task)
            if t.is_setup and t.task_id not in task.upstream_task_ids
        )
        if setups:
            found[task.task_id] = setups
    return found


def effective_leaves(dag: DAG) -> list[BaseOperator]:
    """The tasks whose states decide the run's: the leaves, teardowns left out (a teardown
    with ``on_failure_fail_dagrun=True`` counts). A task whose only downstream tasks are
    ignored teardowns is a leaf; a DAG of teardowns only falls back to its real leaves."""

    def ignored(task: BaseOperator) -> bool:
        return task.is_teardown and not task.on_failure_fail_dagrun

    leaves = [
        task
        for task in dag.task_dict.values()
        if not ignored(task) and all(ignored(d) for d in task.downstream_list)
    ]
    return leaves or dag.leaves


# -- ``with setup >> teardown:`` ------------------------------------------------------------------

_open_blocks: list[tuple[BaseOperator, frozenset[str]]] = []


def enter_block(task: BaseOperator) -> None:
    """``with task:`` for a setup or teardown task: remember which tasks exist already."""
    if not (task.is_setup or task.is_teardown):
        raise DagDefinitionError(
            f"task {task.task_id!r}: only a setup or teardown task opens a 'with' block "
            "(with setup_task >> teardown_task: ...)"
        )
    dag = task._require_dag()
    _open_blocks.append((task, frozenset(dag.task_dict)))


def exit_block(task: BaseOperator, *, failed: bool) -> None:
    """End ``with task:``: the work tasks made in the block go between the block's setups
    and teardowns (its first tasks after the setups, its last ones before the teardowns)."""
    opened, before = _open_blocks.pop()
    if failed:
        return
    dag = opened._require_dag()
    if opened.is_setup:
        setups, teardowns = [opened], teardowns_of(opened)
    else:
        setups, teardowns = [u for u in opened.upstream_list if u.is_setup], [opened]
    work = [
        t
        for task_id, t in dag.task_dict.items()
        if task_id not in before and not t.is_setup and not t.is_teardown
    ]
    inside = {t.task_id for t in work}
    for t in work:
        if not any(u in inside for u in t.upstream_task_ids):
            _link(setups, [t])
        if not any(d in inside for d in t.downstream_task_ids):
            _link([t], teardowns)


def _link(upstream: Iterable[BaseOperator], downstream: list[BaseOperator]) -> None:
    for up in upstream:
        for down in downstream:
            if down.task_id not in up.downstream_task_ids:
                up.set_downstream(down)
