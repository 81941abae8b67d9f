"""Retry policies: a task's say, at failure time, in whether and when it is retried.

A task's ``retries`` and ``retry_delay`` treat every error alike. A ``retry_policy`` looks at
the exception the attempt raised and decides (Airflow 3.3's ``retry_policy``, same names)::

    from datetime import timedelta
    from headwater import ExceptionRetryPolicy, RetryAction, RetryRule, task

    policy = ExceptionRetryPolicy(
        rules=[
            RetryRule(exception=ConnectionError, retry_delay=timedelta(seconds=30)),
            RetryRule(exception="requests.exceptions.HTTPError", retry_delay=timedelta(minutes=5),
                      reason="rate limited"),
            RetryRule(exception=PermissionError, action=RetryAction.FAIL, reason="not retryable"),
        ],
    )

    @task(retries=5, retry_policy=policy)
    def call_api(): ...

* :attr:`RetryAction.RETRY`: retried, after the rule's ``retry_delay`` when it has one (else
  the task's own delay). Still within the task's ``retries``: a policy can stop retries early,
  never add any.
* :attr:`RetryAction.FAIL`: failed now, whatever tries are left.
* :attr:`RetryAction.DEFAULT`: as if there were no policy.

The rules are tried in order and the first that matches decides; when none does, the
policy's ``default`` does. A rule's exception is a class, a dotted name
(``"requests.exceptions.HTTPError"``: matched by the names of the raised exception's classes,
so the module need not be importable where the DAG is parsed), or a list of them; subclasses
match unless ``match_subclasses=False``.

The policy runs in the task's own process, where the exception is. A task that fails with
:class:`~headwater.exceptions.TaskFailedNoRetry` (``AirflowFailException``, a sensor's
timeout) fails without asking it, and a policy that raises is logged and ignored (the task's
``retries`` decide). Write your own by subclassing :class:`RetryPolicy`.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from headwater.authoring.dates import plain_timedelta
from headwater.exceptions import DagDefinitionError

__all__ = [
    "ExceptionRetryPolicy",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "RetryRule",
    "check_retry_policy",
]


class RetryAction(Enum):
    """What a retry policy decides for a failed attempt."""

    RETRY = "retry"
    """Retried (within the task's ``retries``), optionally after a delay of the policy's."""
    FAIL = "fail"
    """Failed now: the attempts left are not used."""
    DEFAULT = "default"
    """The task's ``retries`` and ``retry_delay`` decide, as without a policy."""


@dataclass(frozen=True)
class RetryDecision:
    """What :meth:`RetryPolicy.evaluate` returns."""

    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    """For RETRY: the wait before the next attempt instead of the task's (None: the task's)."""
    reason: str | None = None
    """Why, in a few words: written to the attempt's log and kept with the attempt."""

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.FAIL, reason=reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.RETRY, retry_delay=delay, reason=reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls(RetryAction.DEFAULT)


class RetryPolicy(abc.ABC):
    """The base of retry policies: :meth:`evaluate` decides for one failed attempt."""

    @abc.abstractmethod
    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: dict[str, Any] | None = None,
    ) -> RetryDecision:
        """How attempt ``try_number`` (1-based; of ``max_tries``, 1 + the task's retries),
        which raised ``exception``, goes on. ``context`` is the task's context."""


MAX_RETRY_DELAY = timedelta(days=366)
"""The longest wait a policy may choose (the engine refuses a longer one in an outcome)."""

ExceptionSpec = type[BaseException] | str
"""An exception class, or its dotted name (``"module.Class"``)."""


class RetryRule:
    """Exceptions matched to what happens: ``RetryRule(exception=ConnectionError,
    action=RetryAction.RETRY, retry_delay=timedelta(seconds=30), reason="network")``."""

    def __init__(
        self,
        exception: ExceptionSpec | Iterable[ExceptionSpec],
        action: RetryAction | str = RetryAction.RETRY,
        retry_delay: timedelta | float | None = None,
        reason: str | None = None,
        match_subclasses: bool = True,
    ) -> None:
        self.exceptions: tuple[ExceptionSpec, ...] = _exception_specs(exception)
        self.action: RetryAction = _action(action, "RetryRule action")
        self.retry_delay: timedelta | None = _delay(retry_delay)
        if reason is not None and not isinstance(reason, str):
            raise DagDefinitionError(f"RetryRule reason must be text, got {reason!r:.80}")
        self.reason = reason
        if not isinstance(match_subclasses, bool):
            raise DagDefinitionError(
                f"RetryRule match_subclasses must be True or False, got {match_subclasses!r:.40}"
            )
        self.match_subclasses = match_subclasses
        self._imported: dict[str, type[BaseException] | None] = {}

    @property
    def exception(self) -> ExceptionSpec | list[ExceptionSpec]:
        """The exception(s) as given: one, or a list."""
        return self.exceptions[0] if len(self.exceptions) == 1 else list(self.exceptions)

    def matches(self, exc: BaseException) -> bool:
        """Whether ``exc`` is (an instance of) one of the rule's exceptions."""
        return any(self._matches(spec, exc) for spec in self.exceptions)

    def _matches(self, spec: ExceptionSpec, exc: BaseException) -> bool:
        classes = type(exc).__mro__ if self.match_subclasses else (type(exc),)
        if not isinstance(spec, str):
            return spec in classes
        if spec in (_dotted(cls) for cls in classes):
            return True
        # Another name the class is known by (a package re-exporting it): import it.
        imported = self._import(spec)
        return imported is not None and imported in classes

    def _import(self, name: str) -> type[BaseException] | None:
        if name not in self._imported:
            module, _, attribute = name.rpartition(".")
            found: Any = None
            try:
                found = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError, ValueError):
                pass
            if not (isinstance(found, type) and issubclass(found, BaseException)):
                found = None
            self._imported[name] = found
        return self._imported[name]

    def describe(self) -> str:
        """``ConnectionError -> retry after 0:00:30`` (for logs and the DAG's details)."""
        names = ", ".join(s if isinstance(s, str) else s.__name__ for s in self.exceptions)
        after = f" after {self.retry_delay}" if self.retry_delay is not None else ""
        return f"{names} -> {self.action.value}{after}"

    def __repr__(self) -> str:
        return f"RetryRule({self.describe()})"


class ExceptionRetryPolicy(RetryPolicy):
    """Rules tried in order; the first that matches the exception decides, else ``default``."""

    def __init__(
        self, rules: Iterable[RetryRule], default: RetryAction | str = RetryAction.DEFAULT
    ) -> None:
        if isinstance(rules, (str, RetryRule)) or not isinstance(rules, Iterable):
            raise DagDefinitionError(
                f"ExceptionRetryPolicy takes a list of RetryRule, got {rules!r:.80}"
            )
        self.rules: list[RetryRule] = list(rules)
        for rule in self.rules:
            if not isinstance(rule, RetryRule):
                raise DagDefinitionError(
                    f"ExceptionRetryPolicy rules must be RetryRule objects, got {rule!r:.80}"
                )
        self.default: RetryAction = _action(default, "ExceptionRetryPolicy default")

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: dict[str, Any] | None = None,
    ) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                reason = rule.reason or f"matched the rule for {type(exception).__name__}"
                return RetryDecision(rule.action, retry_delay=rule.retry_delay, reason=reason)
        return RetryDecision(self.default)

    def __repr__(self) -> str:
        rules = "; ".join(rule.describe() for rule in self.rules)
        return f"ExceptionRetryPolicy([{rules}], default={self.default.value})"


def check_retry_policy(value: Any, task_id: str) -> RetryPolicy | None:
    """``value`` if it is a retry policy (or None); an error naming the task otherwise."""
    if value is None or isinstance(value, RetryPolicy):
        return value
    raise DagDefinitionError(
        f"task {task_id!r}: retry_policy must be a RetryPolicy (such as ExceptionRetryPolicy), "
        f"got {value!r:.80}"
    )


def _exception_specs(value: Any) -> tuple[ExceptionSpec, ...]:
    listed = list(value) if isinstance(value, (list, tuple)) else [value]
    if not listed:
        raise DagDefinitionError("RetryRule exception: give at least one exception")
    for spec in listed:
        if isinstance(spec, type) and issubclass(spec, BaseException):
            continue
        if isinstance(spec, str):
            module, _, attribute = spec.rpartition(".")
            if module and attribute.isidentifier():
                continue
            raise DagDefinitionError(
                f"RetryRule exception {spec!r:.80} is not a dotted name: write the module "
                "and the class, like 'builtins.ValueError' or 'requests.exceptions.HTTPError'"
            )
        raise DagDefinitionError(
            f"RetryRule exception must be an exception class or its dotted name, got {spec!r:.80}"
        )
    return tuple(listed)


def _action(value: Any, what: str) -> RetryAction:
    if isinstance(value, RetryAction):
        return value
    try:
        return RetryAction(value)
    except ValueError:
        choices = ", ".join(a.value for a in RetryAction)
        raise DagDefinitionError(f"{what} {value!r:.40} is not one of {choices}") from None


def _delay(value: Any) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (timedelta, int, float)):
        raise DagDefinitionError(
            f"RetryRule retry_delay must be a timedelta or seconds, got {value!r:.80}"
        )
    try:
        delay = plain_timedelta(value) if isinstance(value, timedelta) else timedelta(seconds=value)
    except (ValueError, OverflowError):
        raise DagDefinitionError(f"RetryRule retry_delay {value!r} is not a duration") from None
    if not timedelta(0) <= delay <= MAX_RETRY_DELAY:
        raise DagDefinitionError(
            f"RetryRule retry_delay must be between 0 and {MAX_RETRY_DELAY.days} days, got {delay}"
        )
    return delay


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
