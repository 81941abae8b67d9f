"""What a data-quality check expects of a value (``{"geq_to": 0}``, ``{"equal_to": 100,
"tolerance": 0.05}``), checked when the DAG is defined, and how to say it in a message.

Used by the column and table check operators (:mod:`headwater.operators.sql_checks`).
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPARISONS = ("equal_to", "greater_than", "geq_to", "less_than", "leq_to")
"""The keys an expectation may use, with ``tolerance``."""

_SYMBOLS = {"greater_than": ">", "geq_to": ">=", "less_than": "<", "leq_to": "<="}


class ExpectationError(ValueError):
    """An expectation that cannot be checked (unknown key, no comparison, not a number)."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def as_number(value: Any) -> float | None:
    """``value`` as a float if it is a number or numeric text, else None."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def format_value(value: Any) -> str:
    """A value as a message shows it: ``NULL``, ``12.5``, ``'text'``."""
    if value is None:
        return "NULL"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return format(value.normalize(), "f")  # 30.00 -> 30, 12.50 -> 12.5
    if is_number(value):
        return str(value)
    return repr(value)


@dataclass(frozen=True)
class Expectation:
    """Bounds a value must meet. ``equal_to`` stands alone; the others combine (a lower
    and an upper bound). ``tolerance`` (a fraction: 0.1 is 10%) widens every bound."""

    equal_to: float | None = None
    greater_than: float | None = None
    geq_to: float | None = None
    less_than: float | None = None
    leq_to: float | None = None
    tolerance: float | None = None

    @classmethod
    def parse(
        cls, spec: Mapping[str, Any], where: str, extra_keys: frozenset[str] = frozenset()
    ) -> Expectation:
        """Read ``spec``; errors start with ``where`` (``"column 'id' null_check"``).
        ``extra_keys`` are other keys the caller handles (``partition_clause``)."""
        if not isinstance(spec, Mapping):
            raise ExpectationError(
                f"{where}: expected a dict such as {{'geq_to': 0}}, got {spec!r:.80}"
            )
        allowed = {*COMPARISONS, "tolerance", *extra_keys}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ExpectationError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; use "
                f"{', '.join(COMPARISONS)}, tolerance"
            )
        values: dict[str, float] = {}
        for key in (*COMPARISONS, "tolerance"):
            if key in spec and spec[key] is not None:
                number = spec[key]
                if not is_number(number):
                    raise ExpectationError(f"{where}: {key} must be a number, got {number!r:.80}")
                values[key] = float(number)
        if not any(key in values for key in COMPARISONS):
            raise ExpectationError(f"{where}: give one of {', '.join(COMPARISONS)}")
        if "equal_to" in values and len(values.keys() & set(COMPARISONS)) > 1:
            raise ExpectationError(f"{where}: equal_to cannot be combined with other bounds")
        if "greater_than" in values and "geq_to" in values:
            raise ExpectationError(f"{where}: give greater_than or geq_to, not both")
        if "less_than" in values and "leq_to" in values:
            raise ExpectationError(f"{where}: give less_than or leq_to, not both")
        if values.get("tolerance", 0) < 0:
            raise ExpectationError(f"{where}: tolerance must be >= 0, got {spec['tolerance']!r}")
        return cls(**values)

    def _widened(self, bound: float, upward: bool) -> float:
        if not self.tolerance:
            return bound
        slack = abs(bound) * self.tolerance
        return bound + slack if upward else bound - slack

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (a number; anything else fails) meets every bound."""
        if not is_number(value):
            return False
        number = float(value)
        if self.equal_to is not None:
            low = self._widened(self.equal_to, upward=False)
            high = self._widened(self.equal_to, upward=True)
            return low <= number <= high
        if self.greater_than is not None and not number > self._widened(self.greater_than, False):
            return False
        if self.geq_to is not None and not number >= self._widened(self.geq_to, False):
            return False
        if self.less_than is not None and not number < self._widened(self.less_than, True):
            return False
        return not (self.leq_to is not None and not number <= self._widened(self.leq_to, True))

    def describe(self) -> str:
        """What is expected, in words: ``equal to 100 ± 5% (95 to 105)``, ``>= 0 and < 10``."""
        tolerance = f" ± {self.tolerance * 100:g}%" if self.tolerance else ""
        if self.equal_to is not None:
            text = f"equal to {format_value(self.equal_to)}{tolerance}"
            if self.tolerance:
                low = self._widened(self.equal_to, upward=False)
                high = self._widened(self.equal_to, upward=True)
                text += f" ({format_value(low)} to {format_value(high)})"
            return text
        parts = []
        for key in ("greater_than", "geq_to", "less_than", "leq_to"):
            bound = getattr(self, key)
            if bound is not None:
                widened = self._widened(bound, upward=key in ("less_than", "leq_to"))
                parts.append(f"{_SYMBOLS[key]} {format_value(widened)}")
        text = " and ".join(parts)
        return f"{text} (with a tolerance of {self.tolerance * 100:g}%)" if self.tolerance else text


def seen(value: Any) -> str:
    """How a message shows the value a check got: ``NULL``, ``'abc' (not a number)``."""
    if value is None or is_number(value):
        return format_value(value)
    return f"{format_value(value)} (not a number)"
