"""Trigger rules: when a task may run, given the states of its upstream tasks."""

from __future__ import annotations

from enum import StrEnum

from headwater.exceptions import InvalidTriggerRuleError


class TriggerRule(StrEnum):
    """The Airflow trigger rules; operators also accept their string names."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    """A teardown's rule (set by ``as_teardown``): every upstream task is done and at least
    one of its upstream setup tasks succeeded."""

    @classmethod
    def parse(cls, value: str | TriggerRule, *, task_id: str = "?") -> TriggerRule:
        """Return the rule named ``value`` or raise an error naming the task and the choices."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(rule.value for rule in cls)
            raise InvalidTriggerRuleError(
                f"task {task_id!r}: unknown trigger_rule {value!r}; expected one of: {choices}"
            ) from None
