"""The states of task instances and DAG runs, and every change between them that is legal.

Each change is made by one named :class:`Rule`: the states it moves from, the states it
moves to, and when the engine applies it. The rules of task instances form an ordered
policy (:data:`TASK_INSTANCE_POLICY`), those of runs another (:data:`DAG_RUN_POLICY`); the
transition table is the union of their pairs, so a pair no rule names is illegal. The
engine makes every change through one call that names its rule
(``DagRunEngine._transition``), and :func:`check` raises
:class:`~headwater.exceptions.IllegalTransitionError` for a pair the rule does not allow.

The finished (terminal) states are declared here once, with the state groups the rules are
built from; ``headwater.engine.states`` re-exports them. A new state is a new enum member,
its place in the groups below, and the rules that enter and leave it: ``deferred`` is entered
by ``defer`` (running to deferred) and left by ``resume`` (deferred to scheduled);
``up_for_reschedule`` by ``reschedule`` and ``reschedule_due``. Neither is busy (no executor
holds the instance), so people may clear or mark them; the run timeout and removal rules take
them from :data:`UNFINISHED_STATES` without an edit.

``docs/architecture.md`` shows :func:`markdown_table`; a test checks that they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from headwater.exceptions import IllegalTransitionError

if TYPE_CHECKING:
    from headwater.engine.records import TaskInstance


class TaskInstanceState(StrEnum):
    """Where one task instance (a task, in a run, at a map index) stands."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    DEFERRED = "deferred"
    REMOVED = "removed"


class DagRunState(StrEnum):
    """Where one DAG run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


S = TaskInstanceState
R = DagRunState

FINISHED_STATES: frozenset[TaskInstanceState] = frozenset(
    {S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED, S.REMOVED}
)
"""Task instance states that never change again within a run (unless cleared or marked)."""

FAILED_STATES: frozenset[TaskInstanceState] = frozenset({S.FAILED, S.UPSTREAM_FAILED})
"""Finished states that fail a run when a leaf task ends in one."""

UNFINISHED_STATES: frozenset[TaskInstanceState] = frozenset(set(S) - FINISHED_STATES)

BUSY_STATES: frozenset[TaskInstanceState] = frozenset({S.QUEUED, S.RUNNING})
"""An executor holds the instance: people wait for it to end before they clear or mark it."""

FINISHED_RUN_STATES: frozenset[DagRunState] = frozenset({R.SUCCESS, R.FAILED})

StateT = TypeVar("StateT", TaskInstanceState, DagRunState)


@dataclass(frozen=True)
class Rule(Generic[StateT]):
    """One named way a state changes: from any of ``sources`` to any of ``targets``.

    Staying in the same state is never a transition, so a rule need not exclude it.
    """

    name: str
    sources: frozenset[StateT]
    targets: frozenset[StateT]
    applied_when: str
    """When the engine applies the rule, as the docs say it."""

    def allows(self, source: StateT, target: StateT) -> bool:
        return source in self.sources and target in self.targets

    def pairs(self) -> list[tuple[StateT, StateT]]:
        """Every (from, to) pair the rule makes, in declaration order of the states."""
        return [(a, b) for a in _ordered(self.sources) for b in _ordered(self.targets) if a != b]


def _ordered(states: Iterable[StateT]) -> list[StateT]:
    members = list(type(next(iter(states))))  # the enum's own order
    chosen = set(states)
    return [state for state in members if state in chosen]


def _task_rule(
    name: str, sources: Iterable[S], targets: Iterable[S], applied_when: str
) -> Rule[TaskInstanceState]:
    return Rule(name, frozenset(sources), frozenset(targets), applied_when)


def _run_rule(
    name: str, sources: Iterable[R], targets: Iterable[R], applied_when: str
) -> Rule[DagRunState]:
    return Rule(name, frozenset(sources), frozenset(targets), applied_when)


# -- task instances ---------------------------------------------------------------------------

TRIGGER_RULE = _task_rule(
    "trigger_rule",
    [S.NONE],
    [S.SCHEDULED, S.SKIPPED, S.UPSTREAM_FAILED],
    "its upstream tasks settled its trigger rule: run, skip, or upstream failed",
)
EXPAND = _task_rule(
    "expand",
    [S.NONE],
    [S.SCHEDULED, S.SKIPPED, S.FAILED],
    "a mapped task expands: each new instance is scheduled; zero items skip the "
    "placeholder, an input that is not a list or dict fails it",
)
FORCE_SCHEDULE = _task_rule(
    "force_schedule", [S.NONE], [S.SCHEDULED], "`tasks test` runs one task whatever its upstreams"
)
RETRY_DUE = _task_rule("retry_due", [S.UP_FOR_RETRY], [S.SCHEDULED], "its retry delay is over")
QUEUE = _task_rule("queue", [S.SCHEDULED], [S.QUEUED], "it is handed to an executor")
START = _task_rule(
    "start", [S.SCHEDULED, S.QUEUED], [S.RUNNING], "an attempt begins (try number + 1)"
)
FINISH = _task_rule(
    "finish",
    [S.RUNNING],
    [S.SUCCESS, S.SKIPPED, S.FAILED],
    "the attempt ended: succeeded, skipped, or failed with no tries left",
)
RETRY = _task_rule("retry", [S.RUNNING], [S.UP_FOR_RETRY], "the attempt failed and tries remain")
RESCHEDULE = _task_rule(
    "reschedule",
    [S.RUNNING],
    [S.UP_FOR_RESCHEDULE],
    "a sensor in reschedule mode found its condition unmet: its worker slot is free until "
    "its next poke",
)
RESCHEDULE_DUE = _task_rule(
    "reschedule_due",
    [S.UP_FOR_RESCHEDULE],
    [S.SCHEDULED],
    "its next poke is due (a new try, not counted against its retries)",
)
DEFER = _task_rule(
    "defer",
    [S.RUNNING],
    [S.DEFERRED],
    "the attempt deferred itself to a trigger: its worker slot is free while the triggerer waits",
)
RESUME = _task_rule(
    "resume",
    [S.DEFERRED],
    [S.SCHEDULED],
    "its trigger fired or timed out: it runs again in a worker, from the method it named "
    "(a new try, not counted against its retries)",
)
BRANCH = _task_rule("branch", [S.NONE], [S.SKIPPED], "an upstream branch task did not choose it")
SHORT_CIRCUIT = _task_rule(
    "short_circuit", [S.NONE], [S.SKIPPED], "an upstream short-circuit task stopped the flow"
)
LOST_ATTEMPT = _task_rule(
    "lost_attempt",
    BUSY_STATES,
    [S.SCHEDULED],
    "its attempt was lost with its scheduler (or its DAG file is missing): it runs again, "
    "and the lost try is not counted",
)
RUN_TIMEOUT = _task_rule(
    "run_timeout",
    UNFINISHED_STATES,
    [S.SKIPPED],
    "the run passed its dagrun_timeout (a running attempt fails)",
)
REMOVE = _task_rule(
    "remove",
    set(S) - {S.REMOVED},
    [S.REMOVED],
    "its task left the DAG (or that map index did), or its whole DAG went missing",
)
RESTORE = _task_rule("restore", [S.REMOVED], [S.NONE], "its task is back in the DAG")
CLEAR = _task_rule(
    "clear",
    set(S) - BUSY_STATES,
    [S.NONE],
    "people clear it to run it again (`tasks clear`)",
)
MARK_SUCCESS = _task_rule(
    "mark_success",
    set(S) - BUSY_STATES - {S.REMOVED},
    [S.SUCCESS],
    "people mark it success: its downstream tasks proceed",
)
MARK_FAILED = _task_rule(
    "mark_failed",
    set(S) - BUSY_STATES - {S.REMOVED},
    [S.FAILED],
    "people mark it failed",
)

TASK_INSTANCE_POLICY: tuple[Rule[TaskInstanceState], ...] = (
    TRIGGER_RULE,
    EXPAND,
    FORCE_SCHEDULE,
    RETRY_DUE,
    QUEUE,
    START,
    FINISH,
    RETRY,
    RESCHEDULE,
    RESCHEDULE_DUE,
    DEFER,
    RESUME,
    BRANCH,
    SHORT_CIRCUIT,
    LOST_ATTEMPT,
    RUN_TIMEOUT,
    REMOVE,
    RESTORE,
    CLEAR,
    MARK_SUCCESS,
    MARK_FAILED,
)
"""Every rule of task instances, in the order of an instance's life, then the exceptions to
it, then what people do."""

# -- DAG runs ---------------------------------------------------------------------------------

RUN_START = _run_rule("start", [R.QUEUED], [R.RUNNING], "the run starts")
RUN_FINISH = _run_rule(
    "finish",
    [R.RUNNING],
    FINISHED_RUN_STATES,
    "every instance finished: failed if a leaf failed, else success",
)
RUN_END_EARLY = _run_rule(
    "end_early",
    [R.QUEUED, R.RUNNING],
    [R.FAILED],
    "it passed its dagrun_timeout, or its DAG went missing",
)
RUN_RECOMPUTE = _run_rule(
    "recompute",
    FINISHED_RUN_STATES,
    FINISHED_RUN_STATES,
    "people marked instances of a finished run, which stays finished: its state follows its "
    "leaves again",
)
RUN_RERUN = _run_rule(
    "rerun",
    set(R),
    [R.QUEUED],
    "people cleared or marked instances that leave work to do: the scheduler reloads it",
)

DAG_RUN_POLICY: tuple[Rule[DagRunState], ...] = (
    RUN_START,
    RUN_FINISH,
    RUN_END_EARLY,
    RUN_RECOMPUTE,
    RUN_RERUN,
)


def legal_pairs(policy: Iterable[Rule[StateT]]) -> set[tuple[StateT, StateT]]:
    """The transition table: every (from, to) pair some rule of ``policy`` makes."""
    return {pair for rule in policy for pair in rule.pairs()}


TASK_INSTANCE_TRANSITIONS = frozenset(legal_pairs(TASK_INSTANCE_POLICY))
DAG_RUN_TRANSITIONS = frozenset(legal_pairs(DAG_RUN_POLICY))


def check(what: str, source: StateT, target: StateT, rule: Rule[StateT]) -> None:
    """Raise :class:`IllegalTransitionError` unless ``rule`` moves ``source`` to ``target``.

    ``what`` names the instance or run (``task instance 'load[2]' of run 'r1'``). Staying in
    the same state passes: it changes nothing. Example::

        check("task instance 'load' of run 'r1'", S.RUNNING, S.UP_FOR_RETRY, RETRY)
    """
    if source == target or rule.allows(source, target):
        return
    allowed = ", ".join(state.value for state in _ordered(rule.sources))
    raise IllegalTransitionError(
        f"illegal transition of {what}: {source.value} -> {target.value} by rule "
        f"{rule.name!r} (it moves {allowed} to "
        f"{', '.join(state.value for state in _ordered(rule.targets))})"
    )


def describe(ti: TaskInstance) -> str:
    """How :func:`check` names a task instance."""
    return f"task instance {ti.key.label!r} of run {ti.run_id!r} of DAG {ti.dag_id!r}"


def markdown_table(policy: Iterable[Rule[StateT]]) -> str:
    """The rules of ``policy`` as the Markdown table of ``docs/architecture.md``."""
    lines = ["| Rule | From | To | When |", "|---|---|---|---|"]
    for rule in policy:
        sources = ", ".join(f"`{state.value}`" for state in _ordered(rule.sources))
        targets = ", ".join(f"`{state.value}`" for state in _ordered(rule.targets))
        lines.append(f"| `{rule.name}` | {sources} | {targets} | {rule.applied_when} |")
    return "\n".join(lines)
