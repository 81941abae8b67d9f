"""Context values computed on first use, and the context mapping that hands them out.

Some context keys cost something to fill (a database read for the previous successful run,
a cron computation) and most tasks never read them; some are Airflow 2 names whose first
read must leave a deprecation note in the task's log. Both are stored in the context as a
:class:`LazyValue`: a stand-in that computes its value the first time it is used.

A template and a ``**context`` callable receive copies of the context (Jinja copies it into
its own dict, Python builds a new one for ``**kwargs``), so the stand-in itself must behave
like its value: it forwards attributes, ``str()``, formatting, comparisons, arithmetic,
``bool()``, iteration and item access, and says it is an instance of its value's class. What
it cannot do is be ``None``: ``value is None`` is False for a stand-in of ``None``.
That is why :class:`TaskContext`, the context itself, unwraps a stand-in when a key is
looked up (``context["prev_ds"]``, ``context.get(...)``), and so do the parameters a
callable names (they are looked up, not copied): there the value is the real one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_UNSET: Any = object()


def _rebuild(value: Any) -> Any:
    """A pickled stand-in comes back as its plain value."""
    return value


class LazyValue:
    """A value computed on first use by ``factory``; ``on_use`` (if given) is called when
    the value is first used, not when it is only shown (``repr``)."""

    __slots__ = ("_factory", "_on_use", "_value")

    def __init__(
        self, factory: Callable[[], Any], on_use: Callable[[], None] | None = None
    ) -> None:
        object.__setattr__(self, "_factory", factory)
        object.__setattr__(self, "_on_use", on_use)
        object.__setattr__(self, "_value", _UNSET)

    def peek(self) -> Any:
        """The value, computed if needed, without counting as a use."""
        value = object.__getattribute__(self, "_value")
        if value is _UNSET:
            value = object.__getattribute__(self, "_factory")()
            object.__setattr__(self, "_value", value)
        return value

    def resolve(self) -> Any:
        """The value: its first use (the deprecation note, if any, is written now)."""
        on_use = object.__getattribute__(self, "_on_use")
        if on_use is not None:
            object.__setattr__(self, "_on_use", None)
            on_use()
        return self.peek()

    # What the value is: instance checks, attributes.
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self.resolve())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (_rebuild, (self.resolve(),))

    # Shown: a repr never counts as a use (printing the whole context reads no key).
    def __repr__(self) -> str:
        return repr(self.peek())

    def __str__(self) -> str:
        return str(self.resolve())

    def __format__(self, spec: str) -> str:
        return format(self.resolve(), spec)

    def __bool__(self) -> bool:
        return bool(self.resolve())

    def __hash__(self) -> int:
        return hash(self.resolve())

    # Compared and combined like the value.
    def __eq__(self, other: object) -> bool:
        return bool(self.resolve() == other)

    def __ne__(self, other: object) -> bool:
        return bool(self.resolve() != other)

    def __lt__(self, other: Any) -> Any:
        return self.resolve() < other

    def __le__(self, other: Any) -> Any:
        return self.resolve() <= other

    def __gt__(self, other: Any) -> Any:
        return self.resolve() > other

    def __ge__(self, other: Any) -> Any:
        return self.resolve() >= other

    def __add__(self, other: Any) -> Any:
        return self.resolve() + other

    def __radd__(self, other: Any) -> Any:
        return other + self.resolve()

    def __sub__(self, other: Any) -> Any:
        return self.resolve() - other

    def __rsub__(self, other: Any) -> Any:
        return other - self.resolve()

    def __mul__(self, other: Any) -> Any:
        return self.resolve() * other

    def __rmul__(self, other: Any) -> Any:
        return other * self.resolve()

    def __int__(self) -> int:
        return int(self.resolve())

    def __index__(self) -> int:
        return int(self.resolve().__index__())

    def __float__(self) -> float:
        return float(self.resolve())

    # A container value (the triggering events mapping).
    def __len__(self) -> int:
        return len(self.resolve())

    def __iter__(self) -> Any:
        return iter(self.resolve())

    def __contains__(self, item: Any) -> bool:
        return item in self.resolve()

    def __getitem__(self, key: Any) -> Any:
        return self.resolve()[key]


def unwrap(value: Any) -> Any:
    """``value``, or the value a :class:`LazyValue` stands for (its first use)."""
    # type(), not isinstance(): a stand-in says it is an instance of its value's class.
    if type(value) is LazyValue:
        return value.resolve()
    return value


class TaskContext(dict[str, Any]):
    """The context of one attempt: a dict whose lookups hand out real values.

    ``context[key]`` and ``context.get(key)`` resolve a :class:`LazyValue` (computing it,
    writing its deprecation note once); everything else (iteration, ``items()``, copies)
    sees the stored entries, stand-ins included, so copying a context reads nothing.
    """

    def __getitem__(self, key: str) -> Any:
        return unwrap(super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        return unwrap(super().get(key, default))
