"""Edge labels: ``a >> Label("on success") >> b`` names the edge from ``a`` to ``b``.

A label changes nothing about when tasks run; it is stored on the DAG (``dag.edge_info``,
serialized with it) and drawn on the edge in the graph view, as Airflow's
``airflow.utils.edgemodifier.Label``. Example::

    check >> Label("valid") >> load
    check >> Label("invalid") >> alert
    extract.set_downstream(load, edge_modifier=Label("rows"))

A label stands between two sides and makes the edges once it has both, whichever comes
first (``b << Label("x") << a`` works too); lists, task groups and TaskFlow references may
stand on either side, and every edge made through the label carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headwater.authoring.dependencies import DependencyMixin, _as_list
from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator


class EdgeModifier(DependencyMixin):
    """Information (a ``label``) for the edges made through it; see :func:`Label`."""

    def __init__(self, label: str | None = None) -> None:
        if label is not None and not isinstance(label, str):
            raise DagDefinitionError(f"an edge label must be text, got {label!r:.80}")
        self.label = label
        self._upstream: list[DependencyMixin] = []
        self._downstream: list[DependencyMixin] = []

    def _upstream_endpoints(self) -> list[BaseOperator]:
        raise DagDefinitionError(f"{self!r} is not a task: put it between two tasks")

    _downstream_endpoints = _upstream_endpoints

    def set_downstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        """``label >> other``: remember ``other`` and link every upstream side to it."""
        targets = _as_list(other)
        self._downstream.extend(targets)
        for source in self._upstream:
            source.set_downstream(targets, edge_modifier=self)

    def set_upstream(
        self,
        other: DependencyMixin | Sequence[DependencyMixin],
        edge_modifier: EdgeModifier | None = None,
    ) -> None:
        """``other >> label``: remember ``other`` and link it to every downstream side."""
        sources = _as_list(other)
        self._upstream.extend(sources)
        for source in sources:
            if self._downstream:
                source.set_downstream(self._downstream, edge_modifier=self)

    def add_edge_info(self, upstream: BaseOperator, downstream: BaseOperator) -> None:
        """Record this label on the edge ``upstream -> downstream`` of their DAG."""
        dag = upstream.dag or downstream.dag
        if dag is None:
            raise DagDefinitionError(
                f"edge {upstream.task_id!r} -> {downstream.task_id!r}: a label needs the tasks "
                "to be in a DAG"
            )
        dag.set_edge_info(upstream.task_id, downstream.task_id, {"label": self.label})

    def __repr__(self) -> str:
        return f"Label({self.label!r})"


def Label(label: str) -> EdgeModifier:
    """An edge label: ``a >> Label("on failure") >> b``."""
    return EdgeModifier(label)


def edge_label(info: dict[str, Any] | None) -> str | None:
    """The label in one edge's stored information, if any."""
    if not info:
        return None
    label = info.get("label")
    return label if isinstance(label, str) else None
