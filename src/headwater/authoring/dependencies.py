"""``>>`` and ``<<`` between tasks, groups, references, lists; ``chain``, ``cross_downstream``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.edges import EdgeModifier
    from headwater.authoring.operator import BaseOperator


class DependencyMixin:
    """Something that can stand on either side of ``>>``: a task, a group or a reference."""

    def _upstream_endpoints(self) -> list[BaseOperator]:
        """The tasks that connect to what comes after this (``self >> x``)."""
        raise NotImplementedError

    def _downstream_endpoints(self) -> list[BaseOperator]:
        """The tasks that connect to what comes before this (``x >> self``)."""
        raise NotImplementedError

    def set_downstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        """Make ``other`` downstream of this; ``edge_modifier`` (a
        :func:`~headwater.authoring.edges.Label`) labels each edge made."""
        from headwater.authoring.edges import EdgeModifier

        targets = _as_list(other)
        for target in targets:
            if isinstance(target, EdgeModifier):  # self >> Label(...): the label links later
                target.set_upstream(self)
        for upstream in self._upstream_endpoints():
            for target in targets:
                if isinstance(target, EdgeModifier):
                    continue
                for downstream in target._downstream_endpoints():
                    upstream._add_edge_to(downstream)
                    if edge_modifier is not None:
                        edge_modifier.add_edge_info(upstream, downstream)

    def set_upstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        for source in _as_list(other):
            source.set_downstream(self, edge_modifier=edge_modifier)

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        # [a, b] >> self
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        # [a, b] << self
        self.set_downstream(other)
        return self


def _as_list(value: Any) -> list[DependencyMixin]:
    if isinstance(value, DependencyMixin):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = list(value)
        for item in items:
            if not isinstance(item, DependencyMixin):
                raise DagDefinitionError(
                    f"cannot set a dependency on {item!r}: not a task or task group"
                )
        return items
    raise DagDefinitionError(f"cannot set a dependency on {value!r}: not a task or task group")


def chain(*elements: Any) -> None:
    """Make each element upstream of the next; lists of equal length pair up element-wise.

    Example: ``chain(a, [b, c], [d, e], f)`` sets a>>b, a>>c, b>>d, c>>e, d>>f, e>>f.
    """
    for left, right in pairwise(elements):
        left_is_list = not isinstance(left, DependencyMixin)
        right_is_list = not isinstance(right, DependencyMixin)
        if left_is_list and right_is_list:
            lefts, rights = _as_list(left), _as_list(right)
            if len(lefts) != len(rights):
                raise DagDefinitionError(
                    f"chain() pairs lists element-wise; got lengths {len(lefts)} and {len(rights)}"
                )
            for a, b in zip(lefts, rights, strict=True):
                a.set_downstream(b)
        elif left_is_list:
            for a in _as_list(left):
                a.set_downstream(right)
        else:
            left.set_downstream(right)


def cross_downstream(from_tasks: Sequence[Any], to_tasks: Any) -> None:
    """Make every task in ``from_tasks`` upstream of every task in ``to_tasks``."""
    for task in _as_list(list(from_tasks)):
        task.set_downstream(to_tasks)
