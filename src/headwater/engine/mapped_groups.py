"""The engine's part of mapped task groups (see :mod:`headwater.authoring.mapped_task_group`).

Every task of a mapped group is mapped with the group's length. Its placeholder (map index
-1) is replaced by its instances as soon as that length is known: from another task of the
group that has expanded, or else by resolving the group's input once the task's own
trigger rule lets it run (a task at the top of the group). Then each instance is decided on
its own: instance ``i`` counts instance ``i`` of each upstream task in the same group, and
every instance of the other upstream tasks. A group over zero elements skips its first
tasks' placeholders, and the skip flows down the group by the trigger rules, as in Airflow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine import setup_teardown
from headwater.engine import transitions as rules
from headwater.engine.records import TaskInstance
from headwater.engine.run_state import RunState
from headwater.engine.states import TaskInstanceState
from headwater.engine.trigger_rules import Decision, UpstreamCounts, decide

if TYPE_CHECKING:
    from headwater.authoring.mapped_task_group import GroupMappedOperator
    from headwater.authoring.operator import BaseOperator

S = TaskInstanceState


def group_mapped(task: BaseOperator) -> GroupMappedOperator | None:
    """``task`` if a mapped task group maps it, else None."""
    from headwater.authoring.mapped_task_group import GroupMappedOperator

    return task if isinstance(task, GroupMappedOperator) else None


class MappedGroups(RunState):
    """Expanding the tasks of mapped task groups and deciding their instances one by one."""

    def _group_length(self, task: GroupMappedOperator) -> int | None:
        """The group's number of map indexes, once one of its tasks has expanded."""
        for task_id, other in self.dag.task_dict.items():
            if getattr(other, "mapped_group", None) is not task.mapped_group:
                continue
            indexes = [i for i in self._tis[task_id] if i >= 0]
            if indexes:
                return max(indexes) + 1
        return None

    def _expand_group_task(
        self, task: GroupMappedOperator, placeholder: TaskInstance, length: int
    ) -> None:
        """Replace the placeholder by ``length`` waiting instances (uncommitted)."""
        self._drop(placeholder)
        tries = self._tries_per_map_index(task.task_id) if placeholder.try_number else {}
        for index in range(length):
            ti = self._new_ti(task, index)
            ti.try_number = tries.get(index, 0)
            ti.max_tries = ti.try_number + task.retries + 1
            self._add(ti)

    def _tries_per_map_index(self, task_id: str) -> dict[int, int]:
        """The last try number of each map index that has attempts: a cleared mapped task
        expands again, and its instances go on from there."""
        tries: dict[int, int] = {}
        for attempt in self.store.get_attempts(self.dag.dag_id, self.run.run_id, task_id):
            tries[attempt.map_index] = max(tries.get(attempt.map_index, 0), attempt.try_number)
        return tries

    def _index_counts(self, task: GroupMappedOperator, index: int) -> UpstreamCounts:
        """The upstream counts of instance ``index``: the same index of upstream tasks in the
        same group (their placeholder while they have one), every instance of the others."""
        counts: dict[str, Counter[TaskInstanceState]] = {}
        for up in task.upstream_task_ids:
            upstream = self.dag.task_dict[up]
            if getattr(upstream, "mapped_group", None) is not task.mapped_group:
                counts[up] = self._counts[up]
                continue
            by_index = self._tis[up]
            ti = by_index.get(index, by_index.get(-1))
            counts[up] = Counter({ti.state: 1}) if ti is not None else Counter()
        return setup_teardown.upstream_counts(counts, task)

    def _evaluate_in_group(
        self,
        task: GroupMappedOperator,
        decision: Decision,
        now: datetime,
        *,
        held: Callable[[], bool] = lambda: False,
    ) -> list[TaskInstance]:
        """What to do now for a task of a mapped group; ``decision`` is its trigger rule's
        over all its upstream instances (what its placeholder follows). ``held()``, asked
        once when an instance could run: whether its instances must wait anyway (on the
        previous run, ``depends_on_past``); skips still happen."""
        tis = self._tis[task.task_id]
        placeholder = tis.get(-1)
        if placeholder is not None and placeholder.state is S.NONE:
            length = self._group_length(task)
            if length is None:
                if decision is Decision.WAIT:
                    return []
                if decision in (Decision.SKIP, Decision.UPSTREAM_FAILED):
                    state = S.SKIPPED if decision is Decision.SKIP else S.UPSTREAM_FAILED
                    self._finish_placeholder(placeholder, state, now, rules.TRIGGER_RULE)
                    return []
                length = self._resolve_group_length(task, placeholder, now)
                if length is None:
                    return []
            self._expand_group_task(task, placeholder, length)
        indirect = self._indirect_setups.get(task.task_id, ())
        constraint = setup_teardown.setup_constraint(self._counts, indirect)
        ready = []
        is_held: bool | None = None
        for index, ti in sorted(self._tis[task.task_id].items()):
            if ti.state is not S.NONE or index < 0:
                continue
            decided = constraint or decide(task.trigger_rule, self._index_counts(task, index))
            if decided is Decision.RUN:
                if is_held is None:
                    is_held = held()
                if is_held:
                    continue
                self._transition(ti, S.SCHEDULED, rules.TRIGGER_RULE)
                ready.append(ti)
            elif decided is Decision.SKIP:
                self._finish_placeholder(ti, S.SKIPPED, now, rules.TRIGGER_RULE)
            elif decided is Decision.UPSTREAM_FAILED:
                self._finish_placeholder(ti, S.UPSTREAM_FAILED, now, rules.TRIGGER_RULE)
        return ready

    def _resolve_group_length(
        self, task: GroupMappedOperator, placeholder: TaskInstance, now: datetime
    ) -> int | None:
        """The group's length from its input; None after ending the placeholder (an input
        that cannot be mapped fails it, zero elements skip it)."""
        from headwater.exceptions import HeadwaterError

        try:
            arguments = task.expand_input.resolve(
                lambda ref: self.xcoms.resolve(ref, self.dag.dag_id, self.run.run_id), task.task_id
            )
        except HeadwaterError as exc:
            placeholder.error = str(exc)
            self._finish_placeholder(placeholder, S.FAILED, now, rules.EXPAND)
            return None
        if not arguments:
            placeholder.error = f"task group {task.mapped_group.group_id!r} mapped over zero items"
            self._finish_placeholder(placeholder, S.SKIPPED, now, rules.EXPAND)
            return None
        return len(arguments)

    def _finish_placeholder(
        self,
        ti: TaskInstance,
        state: TaskInstanceState,
        now: datetime,
        rule: rules.Rule[TaskInstanceState],
    ) -> None:
        ti.end_date = now
        self._transition(ti, state, rule)

    def _force_expand_in_group(self, task: GroupMappedOperator, now: datetime) -> None:
        """``tasks test`` on a task of a mapped group: expand it whatever its upstreams."""
        placeholder = self._tis[task.task_id].get(-1)
        if placeholder is None or placeholder.state is not S.NONE:
            return
        length = self._group_length(task) or self._resolve_group_length(task, placeholder, now)
        if length:
            self._expand_group_task(task, placeholder, length)
