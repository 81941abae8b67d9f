"""Deciding, from the states of a task's upstream instances, whether it runs, waits or ends.

Each rule is a small function of :class:`UpstreamCounts`; they follow Airflow's semantics
(``TriggerRuleDep`` as the scheduler evaluates it), including how skips and failures propagate
(``all_success`` after a skip is a skip, after a failure is ``upstream_failed``). Every rule
counts ``upstream_failed`` as a failure except ``one_done``, which, as in Airflow, needs an
upstream that really ran and ended ``success`` or ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from headwater.authoring.trigger_rule import TriggerRule
from headwater.engine.states import TaskInstanceState as S


class Decision(Enum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True, slots=True)
class UpstreamCounts:
    total: int
    success: int
    skipped: int
    failed: int  # failed or upstream_failed
    upstream_failed: int  # of those, upstream_failed (counted in ``failed`` too)
    done: int  # in a finished state (removed ones are left out of total and done)
    setups: int = 0  # of the upstream instances, those of setup tasks
    setup_success: int = 0
    setup_skipped: int = 0

    @property
    def all_done(self) -> bool:
        return self.done == self.total

    @property
    def ran_and_failed(self) -> int:
        """Upstream instances that ended ``failed`` themselves (not ``upstream_failed``)."""
        return self.failed - self.upstream_failed

    @classmethod
    def of(cls, states: Mapping[S, int]) -> UpstreamCounts:
        """Counts from ``{state: number of upstream instances in it}``."""
        success = states.get(S.SUCCESS, 0)
        skipped = states.get(S.SKIPPED, 0)
        upstream_failed = states.get(S.UPSTREAM_FAILED, 0)
        failed = states.get(S.FAILED, 0) + upstream_failed
        total = sum(states.values()) - states.get(S.REMOVED, 0)
        return cls(total, success, skipped, failed, upstream_failed, success + skipped + failed)


def _all_success(c: UpstreamCounts) -> Decision:
    if c.failed:
        return Decision.UPSTREAM_FAILED
    if c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.all_done else Decision.WAIT


def _all_failed(c: UpstreamCounts) -> Decision:
    if c.success or c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.all_done else Decision.WAIT


def _all_done(c: UpstreamCounts) -> Decision:
    return Decision.RUN if c.all_done else Decision.WAIT


def _all_skipped(c: UpstreamCounts) -> Decision:
    if c.success or c.failed:
        return Decision.SKIP
    return Decision.RUN if c.all_done else Decision.WAIT


def _one_success(c: UpstreamCounts) -> Decision:
    if c.success:
        return Decision.RUN
    if not c.all_done:
        return Decision.WAIT
    return Decision.UPSTREAM_FAILED if c.failed else Decision.SKIP


def _one_failed(c: UpstreamCounts) -> Decision:
    if c.failed:
        return Decision.RUN
    return Decision.SKIP if c.all_done else Decision.WAIT


def _one_done(c: UpstreamCounts) -> Decision:
    # Airflow's ONE_DONE: an upstream_failed upstream never ran, so it is not "done" here;
    # when all are done and none succeeded or failed (skipped, upstream_failed), skip.
    if c.success or c.ran_and_failed:
        return Decision.RUN
    return Decision.SKIP if c.all_done else Decision.WAIT


def _none_failed(c: UpstreamCounts) -> Decision:
    if c.failed:
        return Decision.UPSTREAM_FAILED
    return Decision.RUN if c.all_done else Decision.WAIT


def _none_failed_min_one_success(c: UpstreamCounts) -> Decision:
    if c.failed:
        return Decision.UPSTREAM_FAILED
    if not c.all_done:
        return Decision.WAIT
    return Decision.RUN if c.success else Decision.SKIP


def _none_skipped(c: UpstreamCounts) -> Decision:
    if c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.all_done else Decision.WAIT


def _always(c: UpstreamCounts) -> Decision:
    return Decision.RUN


def _all_done_setup_success(c: UpstreamCounts) -> Decision:
    # A teardown: runs when all is done, failed or not, if one of its setups succeeded.
    if not c.all_done:
        return Decision.WAIT
    if c.setups and c.setup_skipped >= c.setups:
        return Decision.SKIP
    if c.setups and not c.setup_success:
        return Decision.UPSTREAM_FAILED
    return Decision.RUN


RULES: dict[TriggerRule, Callable[[UpstreamCounts], Decision]] = {
    TriggerRule.ALL_SUCCESS: _all_success,
    TriggerRule.ALL_FAILED: _all_failed,
    TriggerRule.ALL_DONE: _all_done,
    TriggerRule.ALL_SKIPPED: _all_skipped,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.ONE_DONE: _one_done,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
    TriggerRule.ALWAYS: _always,
    TriggerRule.ALL_DONE_SETUP_SUCCESS: _all_done_setup_success,
}


def decide(rule: TriggerRule, counts: UpstreamCounts) -> Decision:
    """What a task with ``rule`` should do now, given its upstream counts."""
    if counts.total == 0:
        return Decision.RUN
    return RULES[rule](counts)
